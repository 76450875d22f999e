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

import builtins
import json

import fixtures

from nova_stx.tests.unit.cmd import test_cli
from nova_stx.tests.unit.explain import test_capabilities


class ExplainCommandTest(test_cli.CliTestCase):

    def _file(self, text, suffix):
        return self.write_file('input' + suffix, text)

    def test_sample_fleet_by_default(self):
        code, out, err = self.run_cli('explain')
        self.assertEqual(0, code, err)
        self.assertIn('Hosts that fit: compute-0, compute-1, compute-2, '
                      'compute-3, compute-4', out)

    def test_no_host_fits_exit_1(self):
        code, out, _err = self.run_cli(
            'explain', '--flavor-property', 'hw:cpu_policy=dedicated',
            '--vcpus', '64')
        self.assertEqual(1, code)
        self.assertIn('none (NoValidHost)', out)

    def test_json_on_fleet_file(self):
        path = self._file(json.dumps({'hosts': [
            {'name': 'a', 'cells': [{'pcpus': '0-1', 'memory_mb': 2048}]},
        ]}), '.json')
        code, out, err = self.run_cli(
            'explain', '--fleet', path, '--format', 'json',
            '--flavor-property', 'hw:cpu_policy=dedicated', '--vcpus', '4')
        self.assertEqual(1, code, err)
        data = json.loads(out)
        self.assertEqual([], data['fitting_hosts'])
        self.assertFalse(
            data['hosts'][0]['filters']['StxCPUPinningFilter']['passed'])

    def test_capabilities_xml(self):
        path = self._file(test_capabilities.CAPS, '.xml')
        code, out, err = self.run_cli(
            'explain', '--capabilities-xml', path,
            '--flavor-property', 'hw:cpu_model=Skylake-Server-IBRS')
        self.assertEqual(0, code, err)
        self.assertIn(f'Hosts that fit: {path}', out)

    def test_bad_fleet_file(self):
        path = self._file('hosts: [{name: a, cells: [{pcpus: 0-x}]}]',
                          '.yaml')
        code, out, err = self.run_cli('explain', '--fleet', path)
        self.assertEqual(2, code)
        self.assertIn("nova-stx explain: error: host a cell 0: pcpus "
                      "'0-x'", err)
        self.assertNotIn('Traceback', err)

    def test_missing_file(self):
        code, _out, err = self.run_cli('explain', '--fleet', '/nonexistent')
        self.assertEqual(2, code)
        self.assertIn('cannot read /nonexistent', err)

    def test_bad_property(self):
        code, _out, err = self.run_cli(
            'explain', '--flavor-property', 'hw:cpu_model=Pentium')
        self.assertEqual(2, code)
        self.assertIn("hw:cpu_model must be one of", err)

    def test_libvirt_uri_without_libvirt_python(self):
        real_import = builtins.__import__

        def no_libvirt(name, *args, **kwargs):
            if name == 'libvirt':
                raise ImportError(name)
            return real_import(name, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch('builtins.__import__',
                                             no_libvirt))
        code, _out, err = self.run_cli('explain', '--libvirt-uri',
                                       'test:///default')
        self.assertEqual(2, code)
        self.assertIn('--libvirt-uri needs libvirt-python', err)

    def test_libvirt_test_uri(self):
        try:
            import libvirt  # noqa: F401
        except ImportError:
            self.skipTest('libvirt-python is not installed')
        code, out, err = self.run_cli(
            'explain', '--libvirt-uri', 'test:///default',
            '--flavor-property', 'hw:cpu_policy=dedicated', '--vcpus', '4',
            '--dedicated-cpus', '0-7')
        self.assertEqual(0, code, err)
        self.assertIn('(test:///default)', out)
