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

"""The nova-stx command: the convention, validate, metadefs, keys."""

import io
import json
import os

import fixtures
from nova import conf as nova_conf
from oslotest import base

from nova_stx.cmd import cli
from nova_stx.cmd import keys_cmd
from nova_stx import metadefs
from nova_stx import nova_version

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

    def run_json(self, *argv):
        """Run with ``-f json``; return ``(code, parsed stdout, stderr)``."""
        code, out, err = self.run_cli(*argv, '-f', 'json')
        return code, json.loads(out) if out.strip() else None, err

    def run_cli(self, *argv):
        # NOTE(nova-stx): 'explain --config-file' parses Nova's global CONF,
        # as the command does in its own process; undo that here, or later
        # tests in this worker cannot register Nova's CLI options.
        self.addCleanup(nova_conf.CONF.reset)
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
        self.assertEqual(3, out.count('| ok '))

    def test_invalid_property_exits_1_naming_key_value_rule(self):
        code, out, _ = self.run_cli(
            'validate', '--image-property', 'hw_wrs_live_migration_timeout=5')
        self.assertEqual(1, code)
        self.assertIn("hw_wrs_live_migration_timeout must be 0 or in the "
                      "range 120 to 800; got '5'.", out)

    def test_unknown_key_under_our_prefix(self):
        code, rows, _ = self.run_json(
            'validate', '--flavor-property', 'hw:wrs:live_migration_bogus=1')
        self.assertEqual(1, code)
        self.assertEqual(
            'hw:wrs:live_migration_bogus is not a flavor property nova-stx '
            'or Nova knows; did you mean hw:wrs:live_migration_timeout?',
            rows[0]['Detail'])

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
        code, rows, _ = self.run_json('validate', '--file', path)
        self.assertEqual(1, code)
        self.assertEqual(
            [('flavor', 'hw:wrs:live_migration_timeout', '150', 'ok'),
             ('image', 'hw_wrs_live_migration_timeout', '9000', 'error')],
            [(r['Source'], r['Property'], r['Value'], r['Result'])
             for r in rows])
        self.assertIn("got '9000'", rows[1]['Detail'])

    def test_usage_errors_are_clean(self):
        for argv, text in (
                (['validate'], 'nothing to check'),
                (['validate', '--flavor-property', 'novalue'],
                 "expects KEY=VALUE, got 'novalue'"),
                (['validate', '--file', '/nonexistent/x.yaml'],
                 'cannot read properties file /nonexistent/x.yaml')):
            code, out, err = self.run_cli(*argv)
            self.assertEqual(2, code, argv)
            self.assertIn(text, err)
            self.assertEqual(1, len(err.splitlines()), err)

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
        code, out, _ = self.run_cli('keys', '-f', 'value')
        self.assertEqual(0, code)
        for key in keys.KEYS:
            for name in key.names().values():
                self.assertIn(name, out)

    def test_docs_page_is_generated_from_the_registry(self):
        with io.open(DOC) as f:
            self.assertEqual(
                keys_cmd.render_rst(), f.read(),
                'Regenerate: nova-stx keys --rst > '
                'doc/source/admin/keys.rst')

    def test_rst_option_prints_the_page(self):
        code, out, _ = self.run_cli('keys', '--rst')
        self.assertEqual((0, keys_cmd.render_rst()), (code, out))


#: Arguments that make each subcommand succeed (or answer 1).
SUBCOMMANDS = {
    'validate': ['--flavor-property', 'hw:wrs:live_migration_timeout=180'],
    'explain': [],
    'migration-plan': [],
    'migration-simulate': ['--ram', '4GiB', '--link', '10GbE'],
    'keys': [],
    'metadefs': [],
}


class ConventionTest(CliTestCase):
    """What every subcommand shares: formats, --version, errors."""

    def test_every_declared_subcommand_is_covered_here(self):
        import importlib.metadata
        declared = {ep.name for ep in importlib.metadata.entry_points(
            group=cli.NAMESPACE)}
        self.assertEqual(set(SUBCOMMANDS), declared)

    def test_every_subcommand_prints_json_and_yaml(self):
        for name, argv in SUBCOMMANDS.items():
            code, data, err = self.run_json(name, *argv)
            self.assertEqual(0, code, f'{name}: {err}')
            self.assertIsInstance(data, (list, dict), name)
            code, out, err = self.run_cli(name, *argv, '-f', 'yaml')
            self.assertEqual(0, code, f'{name}: {err}')
            self.assertEqual(data, __import__('yaml').safe_load(out), name)

    def test_version_everywhere(self):
        expected = nova_version.versions_text()
        self.assertRegex(expected, r'^nova-stx \S+ \(Nova 34\.')
        for argv in [['--version']] + [[n, '--version']
                                       for n in SUBCOMMANDS]:
            code, out, _ = self.run_cli(*argv)
            self.assertEqual((0, expected), (code, out.strip()), argv)

    def test_help_everywhere(self):
        for name in SUBCOMMANDS:
            code, out, err = self.run_cli(name, '--help')
            self.assertEqual((0, ''), (code, err), name)
            self.assertIn('--version', out, name)

    def test_no_command_prints_help(self):
        code, out, _ = self.run_cli()
        self.assertEqual(0, code)
        for name in SUBCOMMANDS:
            self.assertIn(name, out)

    def test_bad_option_is_one_line(self):
        for argv in (['migration-plan', '--ram-mb', 'inf'],
                     ['migration-simulate', '--ram', '64', '--link', '1GbE'],
                     ['explain', '--vcpus', 'x'],
                     ['validate', '--format', 'xml']):
            code, _out, err = self.run_cli(*argv)
            self.assertEqual(2, code, argv)
            self.assertEqual(1, len(err.splitlines()), err)
            self.assertIn('error: ', err)

    def test_typos_caught_by_every_property_subcommand(self):
        typo = 'hw:wrs:live_migration_timout=300'
        for name in ('validate', 'explain', 'migration-plan',
                     'migration-simulate'):
            code, out, err = self.run_cli(name, *SUBCOMMANDS[name],
                                          '--flavor-property', typo)
            self.assertIn(code, (1, 2), name)
            self.assertIn('did you mean hw:wrs:live_migration_timeout?',
                          out + err, name)
