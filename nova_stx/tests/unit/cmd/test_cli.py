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

"""The nova-stx command: validate, metadefs, keys."""

import io
import os

import fixtures
from oslotest import base

from nova_stx.cmd import cli
from nova_stx.cmd import keys_cmd
from nova_stx import metadefs

DOC = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                   'doc', 'source', 'admin', 'keys.rst')


class CliTestCase(base.BaseTestCase):

    def tmp_path(self, name):
        """Return the path of ``name`` in a per-test directory."""
        if not hasattr(self, '_tmp'):
            self._tmp = self.useFixture(fixtures.TempDir()).path
        return os.path.join(self._tmp, name)

    def write_file(self, name, text=''):
        """Write ``text`` to ``name`` in a per-test directory."""
        path = self.tmp_path(name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def run_cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()


class ValidateTest(CliTestCase):

    def test_valid_properties(self):
        code, out, err = self.run_cli(
            'validate',
            '--flavor-property', 'hw:wrs:live_migration_timeout=180',
            '--image-property', 'hw_wrs_live_migration_max_downtime=300',
            '--instance-property', 'hw:wrs:live_migration_tunnel=true')
        self.assertEqual(0, code, out + err)
        self.assertEqual(3, out.count('ok '))

    def test_invalid_property_exits_1_naming_key_value_rule(self):
        code, out, _ = self.run_cli(
            'validate', '--image-property', 'hw_wrs_live_migration_timeout=5')
        self.assertEqual(1, code)
        self.assertIn("hw_wrs_live_migration_timeout must be 0 or in the "
                      "range 120 to 800; got '5'.", out)

    def test_unknown_key_under_our_prefix(self):
        code, out, _ = self.run_cli(
            'validate', '--flavor-property', 'hw:wrs:live_migration_bogus=1')
        self.assertEqual(1, code)
        self.assertIn('hw:wrs:live_migration_bogus is not a nova-stx flavor '
                      'key', out)

    def test_other_flavor_keys_get_nova_validation(self):
        code, out, _ = self.run_cli(
            'validate', '--flavor-property', 'hw:numa_nodes=0')
        self.assertEqual(1, code)
        self.assertIn('hw:numa_nodes', out)

    def test_image_cpu_model_overriding_flavor(self):
        code, out, _ = self.run_cli(
            'validate', '--flavor-property', 'hw:cpu_model=Haswell',
            '--image-property', 'hw_cpu_model=Broadwell')
        self.assertEqual(1, code)
        self.assertIn('Image vCPU model is not permitted to override', out)

    def test_file_input(self):
        path = self.write_file(
            'p.yaml', 'flavor:\n  hw:wrs:live_migration_timeout: 150\n'
                      'image:\n  hw_wrs_live_migration_timeout: 9000\n')
        code, out, _ = self.run_cli('validate', '--file', path)
        self.assertEqual(1, code)
        self.assertIn('ok     flavor   hw:wrs:live_migration_timeout=150',
                      out)
        self.assertIn("got '9000'", out)

    def test_usage_errors_are_clean(self):
        for argv, text in (
                (['validate'], 'nothing to check'),
                (['validate', '--flavor-property', 'novalue'],
                 "expects KEY=VALUE, got 'novalue'"),
                (['validate', '--file', '/nonexistent/x.yaml'],
                 'cannot read /nonexistent/x.yaml')):
            code, out, err = self.run_cli(*argv)
            self.assertEqual(2, code, argv)
            self.assertIn(text, err)
            self.assertNotIn('Traceback', err)

    def test_malformed_file(self):
        for content, text in (('[1, 2', 'not valid JSON or YAML'),
                              ('- a\n- b\n', 'must map'),
                              ('flavour: {}\n', 'unknown section')):
            path = self.write_file('p', content)
            code, _, err = self.run_cli('validate', '--file', path)
            self.assertEqual(2, code)
            self.assertIn(text, err)


class MetadefsTest(CliTestCase):

    def test_prints_directory(self):
        code, out, _ = self.run_cli('metadefs')
        self.assertEqual(0, code)
        self.assertEqual(metadefs.DIRECTORY, out.strip())
        self.assertTrue(os.path.isabs(out.strip()))

    def test_write(self):
        target = self.tmp_path('m')
        code, out, _ = self.run_cli('metadefs', '--write', target)
        self.assertEqual(0, code)
        self.assertEqual(sorted(metadefs.build()), sorted(os.listdir(target)))

    def test_write_onto_a_file_is_a_usage_error(self):
        path = self.write_file('f')
        code, _, err = self.run_cli('metadefs', '--write', path)
        self.assertEqual(2, code)
        self.assertIn('is not a directory', err)


class KeysTest(CliTestCase):

    def test_text_lists_every_name(self):
        from nova_stx import keys
        code, out, _ = self.run_cli('keys')
        self.assertEqual(0, code)
        for key in keys.KEYS:
            for name in key.names().values():
                self.assertIn(name, out)

    def test_docs_page_is_generated_from_the_registry(self):
        with io.open(DOC) as f:
            self.assertEqual(
                keys_cmd.render_rst(), f.read(),
                'Regenerate: nova-stx keys --format rst > '
                'doc/source/admin/keys.rst')
