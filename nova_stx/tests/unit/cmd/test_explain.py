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

"""``nova-stx explain`` on files, XML, URIs and the sample fleet."""

import builtins
import json

import fixtures

from nova_stx.tests.unit.cmd import test_cli
from nova_stx.tests.unit.explain import test_capabilities


class ExplainCommandTest(test_cli.CliTestCase):

    def _file(self, text, suffix):
        return self.write_file('input' + suffix, text)

    def test_sample_fleet_by_default(self):
        code, rows, err = self.run_json('explain')
        self.assertEqual(0, code, err)
        self.assertEqual([f'compute-{i}' for i in range(5)],
                         [r['Host'] for r in rows if r['Result'] == 'fits'])

    def test_no_host_fits_exit_1(self):
        code, out, err = self.run_cli(
            'explain', '--flavor-property', 'hw:cpu_policy=dedicated',
            '--vcpus', '64')
        self.assertEqual(1, code)
        self.assertIn('No host fits (NoValidHost).', err)
        self.assertIn('StxCPUPinningFilter: needs 64 dedicated pCPUs', out)

    def test_json_on_fleet_file(self):
        path = self._file(json.dumps({'hosts': [
            {'name': 'a', 'cells': [{'pcpus': '0-1', 'memory_mb': 2048}]},
        ]}), '.json')
        code, rows, err = self.run_json(
            'explain', '--fleet', path,
            '--flavor-property', 'hw:cpu_policy=dedicated', '--vcpus', '4')
        self.assertEqual(1, code, err)
        self.assertEqual(1, len(rows))
        self.assertEqual(('a', 'rejected', 'FAIL'), (
            rows[0]['Host'], rows[0]['Result'], rows[0]['CPUPinning']))
        self.assertEqual('needs 4 dedicated pCPUs, 2 free on the host',
                         rows[0]['Reasons']['StxCPUPinningFilter'])

    def test_capabilities_xml(self):
        path = self._file(test_capabilities.CAPS, '.xml')
        code, rows, err = self.run_json(
            'explain', '--capabilities-xml', path,
            '--flavor-property', 'hw:cpu_model=Skylake-Server-IBRS')
        self.assertEqual(0, code, err)
        self.assertEqual([(path, 'fits')],
                         [(r['Host'], r['Result']) for r in rows])

    def test_capabilities_xml_without_cpu(self):
        xml = test_capabilities.CAPS
        start, end = xml.index('<cpu>'), xml.index('</cpu>') + len('</cpu>')
        path = self._file(xml[:start] + xml[end:], '.xml')
        code, rows, err = self.run_json('explain', '--capabilities-xml',
                                        path)
        self.assertEqual(0, code, err)
        code, rows, err = self.run_json(
            'explain', '--capabilities-xml', path,
            '--flavor-property', 'hw:cpu_model=Haswell')
        self.assertEqual(1, code, err)
        self.assertIn('StxVCpuModelFilter', rows[0]['Reasons'])

    def test_binary_capabilities_xml(self):
        path = self.tmp_path('caps.bin')
        with open(path, 'wb') as f:
            f.write(bytes(range(256)))
        code, _out, err = self.run_cli('explain', '--capabilities-xml', path)
        self.assertEqual(2, code)
        self.assertEqual(f'nova-stx explain: error: {path} is a binary '
                         f'file, not a text capabilities XML', err.strip())

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
        self.assertIn('cannot read fleet file /nonexistent', err)

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
        code, rows, err = self.run_json(
            'explain', '--libvirt-uri', 'test:///default',
            '--flavor-property', 'hw:cpu_policy=dedicated', '--vcpus', '4',
            '--dedicated-cpus', '0-7')
        self.assertEqual(0, code, err)
        self.assertIn('(test:///default)', rows[0]['Host'])

    def test_typo_names_closest_key(self):
        code, out, err = self.run_cli(
            'explain', '--flavor-property', 'hw:cpu_polcy=dedicated')
        self.assertEqual((2, ''), (code, out))
        self.assertEqual(
            'nova-stx explain: error: hw:cpu_polcy is not a flavor property '
            'nova-stx or Nova knows; did you mean hw:cpu_policy?',
            err.strip())

    def test_config_file_directory(self):
        code, _out, err = self.run_cli('explain', '--config-file',
                                       self.tmp_path(''))
        self.assertEqual(2, code)
        self.assertIn('is a directory, not a nova.conf', err)
