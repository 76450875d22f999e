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

"""The devstack plugin, run by bash over stand-ins of devstack's functions.

The nova.conf files it writes are real files, the commands it runs are
the real ``nova-stx``, ``nova-stx-status`` and ``glance-manage`` (over a
real sqlite Glance database); only devstack's own functions and process
management are stand-ins.
"""

import os
import shutil
import subprocess
import sys
import textwrap

import fixtures
import testtools
from oslotest import base

from nova_stx import metadefs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..', '..', '..')
PLUGIN = os.path.join(ROOT, 'devstack')

#: What devstack's lib/nova writes before plugins run (with NUMA and PCI
#: filters, as a devstack for NFV testing would have).
DEVSTACK_FILTERS = ('ComputeFilter,ComputeCapabilitiesFilter,'
                    'ImagePropertiesFilter,ServerGroupAntiAffinityFilter,'
                    'ServerGroupAffinityFilter,SameHostFilter,'
                    'DifferentHostFilter,PciPassthroughFilter,'
                    'NUMATopologyFilter')
STX_FILTERS = ('StxVCpuModelFilter,StxHugepageFilter,StxCPUPinningFilter,'
               'StxNUMATopologyFilter')


def _glance_manage(conf, *argv):
    return subprocess.run(
        [sys.executable, '-m', 'glance.cmd.manage', '--config-file', conf,
         *argv], check=True, capture_output=True, timeout=300)


class DevstackPluginTest(base.BaseTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # NOTE(nova-stx): one synced Glance database, copied per test.
        cls.template_dir = fixtures.TempDir()
        cls.template_dir.setUp()
        cls.template = os.path.join(cls.template_dir.path, 'glance.sqlite')
        conf = os.path.join(cls.template_dir.path, 'glance.conf')
        with open(conf, 'w') as f:
            f.write(f'[database]\nconnection = sqlite:///{cls.template}\n')
        _glance_manage(conf, 'db', 'sync')

    @classmethod
    def tearDownClass(cls):
        cls.template_dir.cleanUp()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.bin = os.path.join(self.tmp, 'bin')
        os.mkdir(self.bin)
        self.nova_conf = self._write('nova.conf', (
            '[DEFAULT]\ndebug = True\n[filter_scheduler]\n'
            f'enabled_filters = {DEVSTACK_FILTERS}\n'))
        self.cpu_conf = self._write('nova-cpu.conf', (
            '[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n'))
        self.glance_db = os.path.join(self.tmp, 'glance.sqlite')
        self.glance_conf = self._write('glance-api.conf', (
            f'[database]\nconnection = sqlite:///{self.glance_db}\n'))
        self.calls = os.path.join(self.tmp, 'calls.log')
        for name, code in (
                ('nova-stx', 'from nova_stx.cmd import cli\n'
                             'sys.exit(cli.main())'),
                ('nova-stx-status', 'from nova_stx.cmd import status\n'
                                    'sys.exit(status.main())'),
                ('glance-manage', 'from glance.cmd import manage\n'
                                  'sys.exit(manage.main())')):
            self._script(name, code)
        shutil.copy(self.template, self.glance_db)

    def _write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def _script(self, name, code):
        """A command of the environment, logging how it was called."""
        path = self._write(os.path.join('bin', name), textwrap.dedent(f'''\
            #!{sys.executable}
            import sys
            with open({self.calls!r}, 'a') as f:
                f.write('exec {name} ' + ' '.join(sys.argv[1:]) + '\\n')
            ''') + code + '\n')
        os.chmod(path, 0o755)

    def stack(self, services, *phases, env=None):
        script = ['set -e', f'source {HERE}/stand_ins.sh',
                  f'source {PLUGIN}/settings']
        script += [f'source {PLUGIN}/plugin.sh stack {phase}'
                   for phase in phases]
        result = subprocess.run(
            ['bash', '-c', '\n'.join(script)], capture_output=True,
            text=True, timeout=300, env=dict(
                os.environ, CALLS=self.calls, PYTHON=sys.executable,
                INI_TOOL=os.path.join(HERE, 'ini_tool.py'),
                ENABLED_SERVICES=services, DEST='/opt/stack',
                NOVA_CONF=self.nova_conf, NOVA_CPU_CONF=self.cpu_conf,
                GLANCE_API_CONF=self.glance_conf, NOVA_BIN_DIR=self.bin,
                GLANCE_BIN_DIR=self.bin, LIBVIRT_GROUP='libvirt',
                **(env or {})))
        self.addDetail('stack', testtools.content.text_content(
            result.stdout + result.stderr))
        with open(self.calls) as f:
            calls = f.read().splitlines()
        return result.returncode, calls, result.stdout + result.stderr

    def _read(self, path):
        with open(path) as f:
            return f.read()

    def test_all_in_one(self):
        code, calls, output = self.stack(
            'n-api,n-sch,n-cpu,g-api', 'install', 'post-config', 'extra')
        self.assertEqual(0, code, output)
        self.assertIn('setup_develop /opt/stack/nova-stx libvirt', calls)
        # The scheduler's filters: Nova's line kept, ours added,
        # NUMATopologyFilter replaced, PciPassthroughFilter kept.
        self.assertEqual(
            ['[DEFAULT]', 'debug = True', '[filter_scheduler]',
             'enabled_filters = ' + DEVSTACK_FILTERS.replace(
                 ',NUMATopologyFilter', '') + ',' + STX_FILTERS,
             'available_filters = nova.scheduler.filters.all_filters',
             'available_filters = nova_stx.scheduler.filters.all_filters'],
            self._read(self.nova_conf).splitlines())
        # The compute: our driver, restarted under nova-compute-stx.
        self.assertIn('compute_driver = nova_stx.LibvirtDriver',
                      self._read(self.cpu_conf))
        restart = [c for c in calls if c.startswith(('stop_process',
                                                     'run_process'))]
        self.assertEqual([
            'stop_process n-cpu',
            f'run_process n-cpu {self.bin}/nova-compute-stx --config-file '
            f'{self.cpu_conf} libvirt'], restart)
        # Glance: the metadefs, loaded as an upgrade would load them.
        self.assertIn(
            f'exec glance-manage --config-file {self.glance_conf} db '
            f'load_metadefs --path {metadefs.DIRECTORY} --merge '
            f'--prefer_new', calls)
        # And the status check ran on the result, for every role, and
        # passed.
        self.assertIn(
            f'exec nova-stx-status --config-file {self.nova_conf} '
            f'--config-file {self.cpu_conf} --role api --role scheduler '
            f'--role compute --glance-config-file {self.glance_conf} '
            f'upgrade check', calls)
        self.assertIn('Result: Success', output)
        self.assertNotIn('Result: Failure', output)

    def test_restack_is_idempotent(self):
        phases = ('install', 'post-config', 'extra')
        self.assertEqual(0, self.stack('n-sch,g-api', *phases)[0])
        first = self._read(self.nova_conf)
        code, _calls, output = self.stack('n-sch,g-api', *phases)
        self.assertEqual(0, code, output)
        self.assertEqual(first, self._read(self.nova_conf))

    def test_controller_only(self):
        code, calls, output = self.stack('n-api,n-sch', 'install',
                                         'post-config', 'extra')
        self.assertEqual(0, code, output)
        self.assertIn('setup_develop /opt/stack/nova-stx', calls)
        self.assertFalse([c for c in calls if 'n-cpu' in c], calls)
        self.assertFalse([c for c in calls if 'load_metadefs' in c], calls)
        self.assertIn('libvirt.LibvirtDriver', self._read(self.cpu_conf))

    def test_pieces_can_be_turned_off(self):
        code, calls, output = self.stack(
            'n-sch,n-cpu', 'post-config', 'extra',
            env={'NOVA_STX_ENABLE_FILTERS': 'False',
                 'NOVA_STX_ENABLE_DRIVER': 'False'})
        self.assertNotIn('Stx', self._read(self.nova_conf))
        self.assertFalse([c for c in calls if c.startswith('run_process')])
        # The check still runs and warns about what is off; a warning
        # does not stop the stack.
        self.assertEqual(0, code, output)
        self.assertIn('Result: Warning', output)

    def test_failing_check_stops_the_stack(self):
        self._write('nova.conf', self._read(self.nova_conf) + (
            '[nova_stx]\ntenant_live_migration_timeout_min = 700\n'
            'tenant_live_migration_timeout_max = 200\n'))
        code, _calls, output = self.stack('n-sch', 'post-config', 'extra')
        self.assertNotEqual(0, code)
        self.assertIn('die: ', output)
        self.assertIn('tenant_live_migration_timeout_min (700)', output)
