# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""The runtime package runs on a host without test dependencies.

A fresh interpreter refuses to import any module of a test-only
distribution (those of ``test-requirements.txt`` that neither nova-stx
nor Nova needs at run time) and any test package; in it, every module of
``nova_stx`` outside ``nova_stx.tests`` must import and every console
script must start.
"""

import importlib.metadata
import json
import os
import re
import subprocess
import sys
import textwrap

from oslotest import base

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..')

#: Distributions of test-requirements.txt that a Nova host has anyway:
#: Nova itself, the Glance and placement services the tests run, and
#: Nova's own dependencies.
PLATFORM = {'nova', 'glance', 'libvirt-python', 'openstack-placement',
            'sqlalchemy'}

SCRIPT = textwrap.dedent('''
    import importlib, importlib.abc, importlib.metadata, json, pkgutil, sys
    BLOCKED = set(json.loads(sys.argv[1]))

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in BLOCKED or name.startswith(
                    ('nova.tests', 'nova_stx.tests', 'glance.tests')):
                raise ImportError(f'test-only module {name} imported')
            return None

    sys.meta_path.insert(0, Block())
    command, *argv = sys.argv[2:]
    if command == '--import-all':
        import nova_stx
        for info in pkgutil.walk_packages(nova_stx.__path__, 'nova_stx.'):
            # nova_stx.__main__ runs the command when imported.
            if not info.name.startswith(('nova_stx.tests',
                                         'nova_stx.__main__')):
                importlib.import_module(info.name)
                print(info.name)
        sys.exit(0)
    for ep in importlib.metadata.entry_points(group='console_scripts'):
        if ep.name == command:
            sys.argv = [command] + argv
            code = ep.load()(argv) if command != 'nova-compute-stx' else (
                ep.load()())
            sys.exit(code)
    sys.exit(f'no console script {command}')
''')


def _normal(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def _test_only_modules():
    with open(os.path.join(ROOT, 'test-requirements.txt')) as f:
        names = [_normal(re.match(r'[A-Za-z0-9_.-]+', line).group(0))
                 for line in f if re.match(r'[A-Za-z0-9]', line)]
    test_only = set(names) - PLATFORM
    modules = set()
    for module, dists in importlib.metadata.packages_distributions(
            ).items():
        if {_normal(d) for d in dists} & test_only:
            modules.add(module)
    return sorted(modules - {'_distutils_hack'})


class RuntimeDependenciesTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.blocked = _test_only_modules()

    def start(self, *argv):
        result = subprocess.run(
            [sys.executable, '-c', SCRIPT, json.dumps(self.blocked),
             *argv], capture_output=True, text=True, timeout=300,
            env=dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='1'))
        return result.returncode, result.stdout, result.stderr

    def test_blocked_set_is_the_test_tools(self):
        for module in ('fixtures', 'testtools', 'oslotest', 'hypothesis',
                       'stestr', 'ddt', 'requests_mock', 'wsgi_intercept'):
            self.assertIn(module, self.blocked)
        self.assertNotIn('nova', self.blocked)

    def test_every_runtime_module_imports(self):
        code, out, err = self.start('--import-all')
        self.assertEqual(0, code, err[-3000:])
        imported = out.split()
        for module in ('nova_stx.cmd.cli', 'nova_stx.cmd.status',
                       'nova_stx.explain.live',
                       'nova_stx.scheduler.filters.numa_topology_filter',
                       'nova_stx.virt.libvirt.driver'):
            self.assertIn(module, imported)
        self.assertFalse([m for m in imported if '.lab' in m], imported)

    def test_every_console_script_starts(self):
        declared = {ep.name for ep in importlib.metadata.distribution(
            'nova-stx').entry_points if ep.group == 'console_scripts'}
        self.assertEqual({'nova-stx', 'nova-stx-status',
                          'nova-compute-stx'}, declared)
        for argv in (['nova-stx', '--version'],
                     ['nova-stx', 'explain', '-f', 'value', '-c', 'Host'],
                     ['nova-stx', 'migration-plan', '-f', 'json'],
                     ['nova-stx', 'validate', '--flavor-property',
                      'hw:numa_nodes=1'],
                     ['nova-stx-status', '--version'],
                     ['nova-compute-stx', '--version']):
            code, out, err = self.start(*argv)
            self.assertEqual(0, code, f'{argv}: {err[-3000:]}')
            self.assertNotIn('test-only module', err)
            self.assertEqual('', err, argv)
            self.assertNotEqual('', out, argv)

    def test_status_check_runs(self):
        conf = os.path.join(ROOT, 'doc', 'source', 'install',
                            'nova-scheduler.conf')
        code, out, err = self.start('nova-stx-status', '--config-file',
                                    conf, '--role', 'scheduler', 'upgrade',
                                    'check')
        self.assertEqual(0, code, out + err[-3000:])
        self.assertIn('nova-stx upgrade check results', out)
