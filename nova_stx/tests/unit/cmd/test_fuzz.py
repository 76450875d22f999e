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

"""The CLI on generated bad files and arguments: never a traceback.

Invariant for every input: exit code 0, 1 or 2; never a traceback and
never the internal-error safety net; exit 2 is exactly one line on
stderr. ``HYPOTHESIS_PROFILE=thorough`` runs many more examples.
"""

import os

import hypothesis
from hypothesis import strategies as st

from nova_stx.cmd import inputs
from nova_stx import keys
from nova_stx.tests.unit.cmd import test_cli
from nova_stx.tests.unit.explain import test_capabilities

_COMMON = dict(deadline=None, database=None, derandomize=True,
               suppress_health_check=list(hypothesis.HealthCheck))
hypothesis.settings.register_profile('cli-ci', max_examples=40, **_COMMON)
hypothesis.settings.register_profile(
    'cli-thorough', max_examples=3000, **dict(_COMMON, derandomize=False))
_PROFILE = hypothesis.settings.get_profile(
    'cli-thorough' if os.environ.get('HYPOTHESIS_PROFILE') == 'thorough'
    else 'cli-ci')


def _huge_integers_handled():
    """Whether keys.py and the ramps take integers of any length.

    NOTE(nova-stx): issue 10 class 3, fixed in the registry and the ramps
    (other rooms); until then such values are left out of the generated
    inputs and their test skips, and both run once the fix is merged.
    """
    from nova_stx.virt.libvirt import migration_policy
    try:
        keys.LIVE_MIGRATION_TIMEOUT.parse('1' * 5000)
    except keys.InvalidValue:
        pass
    except ValueError:
        return False
    try:
        migration_policy.plan({keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor:
                               '9' * 400}, {}, {}, 2.0,
                              migration_policy.Settings())
    except (OverflowError, ValueError):
        return False
    return True


HUGE_OK = _huge_integers_handled()
HUGE = ['1' * 5000, '-' + '9' * 400, '9' * 400] if HUGE_OK else []

KEYS = ['hw:wrs:live_migration_timeout', 'hw:wrs:live_migration_max_downtime',
        'hw_wrs_live_migration_timeout', 'hw:cpu_model', 'hw_cpu_model',
        'hw:wrs:live_migration_tunnel', 'hw:cpu_policy', 'hw:numa_nodes',
        'hw:mem_page_size', 'hw_numa_nodes', 'hw:cpu_polcy',
        'hw:wrs:live_migration_timout', 'sw:wrs:auto_recovery', 'hw:hpet',
        'hw_time_hpet', 'x']

#: Scalars that broke YAML/JSON readers before: dates, huge numbers,
#: floats, escapes that make lone surrogates, NUL, aliases.
SCALARS = st.one_of(
    st.sampled_from([
        '2024-01-01', '2024-01-01T10:00:00Z', '1e400', '.inf', '.nan',
        '"\\ud800"', '"\\x00"', '~', 'null',
        'true', 'yes', '0x1F', '0o17', '+300', ' 300', '&a x', '*a',
        '!!binary aGk=', '!!python/object:os.system ls', '[]', '{}', "'",
        '"', '300', '12345678901234567890123'] + HUGE),
    st.text(max_size=12), st.integers().map(str))


@st.composite
def yaml_documents(draw):
    """Text shaped like the CLI's files, and often broken."""
    kind = draw(st.sampled_from(['props', 'fleet', 'nest', 'alias',
                                 'noise']))
    if kind == 'nest':
        depth = draw(st.sampled_from([31, 33, 200, 20000]))
        bracket = draw(st.sampled_from(['[', '{"a":']))
        return bracket * depth
    if kind == 'alias':
        return ('a: &a ["x","x","x","x","x","x","x","x","x"]\n' +
                ''.join(f'{c}: &{c} [{",".join(["*" + p] * 9)}]\n'
                        for p, c in zip('abcdefgh', 'bcdefghi')))
    if kind == 'noise':
        return draw(st.text(alphabet=st.sampled_from(
            list('{}[]:,-&*!|>\'"#\n\t ab1') + ['\ud800', '\x00']),
            max_size=60))
    values = draw(st.lists(st.tuples(st.sampled_from(KEYS), SCALARS),
                           max_size=4))
    body = ''.join(f'  {k}: {v}\n' for k, v in values)
    if kind == 'props':
        section = draw(st.sampled_from(['flavor', 'image', 'instance',
                                        'flavour', '- flavor']))
        return f'{section}:\n{body}'
    cell = draw(st.sampled_from([
        '{pcpus: 0-3, memory_mb: 4096}', '{pcpus: 0-99999999}',
        '{pcpus: 0-3, memory_mb: ' + '9' * 5000 + '}', '{pcpus: [a]}',
        '{pcpus: 0-3, memory_mb: 1.5}', '{cpus: -1}', '{siblings: 5}',
        '{pcpus: 0-3, memory_mb: 4096, hugepages: {2M: ' + '9' * 30 + '}}',
        '{hugepages: {0M: 1}}', '{pcpus: 0-3, threads: 2.5}', '7',
        '{pcpus: 1, memory_mb: 2024-01-01}']))
    cpu = draw(st.sampled_from(['{}', '{features: 5}', '{model: [x]}',
                                '{features: [{a: b}]}', '[]', '7']))
    return (f'hosts:\n  - name: {draw(SCALARS)}\n    cpu: {cpu}\n'
            f'    cells: [{cell}]\n')


def file_bytes():
    return st.one_of(
        yaml_documents().map(
            lambda t: t.encode('utf-8', 'surrogatepass')),
        st.binary(max_size=64),
        st.sampled_from([b'\xff\xfe\x00\x00', b'\x89PNG\r\n\x1a\n',
                         test_capabilities.CAPS.encode('latin-1'),
                         b'<capabilities/>', b'<host/>',
                         b'<?xml version="1.0" encoding="UTF-8"?>'
                         b'<capabilities><host><topology><cells num="1">'
                         b'<cell id="x"/></cells></topology></host>'
                         b'</capabilities>',
                         b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
                         b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                         b'<capabilities>&b;</capabilities>',
                         b'[nova_stx]\nlive_migration_timeout = x\n',
                         b'[libvirt\n', b'no section\n']))


ARGUMENT_VALUES = st.one_of(
    st.sampled_from(['inf', '-inf', 'nan', '1e400', '0', '-1', '1e-400',
                     '0x10', '', ' ', '9' * 5000, '1_000', '\ud800', '2',
                     '4097', '1' * 30]),
    st.text(max_size=8))


#: Number-and-unit texts, often broken, for the simulation's options.
QUANTITIES = st.one_of(
    ARGUMENT_VALUES,
    st.tuples(st.sampled_from(['0', '1', '64', '0.5', '1e3', '1e-3', '9' * 40,
                               '1e400', '-1', '.', '']),
              st.sampled_from(['GiB', 'MiB', 'TiB', 'GB', 'gib', 'Gb', 'B',
                               'GB/s', 'gb/s', 'MiB/s', 'Gbit/s', 'Mbps',
                               'GbE', 'gbe', 'GbE/s', 'bit/s', '', ' ',
                               'x', '\ud800'])).map(''.join),
    st.text(alphabet=st.sampled_from(list('0123456789.eE+-GMKkiBbpst/E ')),
            max_size=10))
SIMULATE_OPTIONS = ['--ram', '--dirty-rate', '--link', '--working-set',
                    '--max-downtime', '--timeout', '--seed', '--controller']


class CliFuzzTest(test_cli.CliTestCase):

    def assertClean(self, argv, code, out, err):
        where = f'{argv!r}: code {code}, stderr {err!r}'
        self.assertIn(code, (0, 1, 2), where)
        self.assertNotIn('Traceback', err, where)
        self.assertNotIn('internal error', err, where)
        if code == 2:
            self.assertEqual(1, len(err.strip().splitlines()), where)

    def run_clean(self, *argv):
        code, out, err = self.run_cli(*argv)
        self.assertClean(argv, code, out, err)
        return code, out, err

    def _bytes_file(self, data):
        path = self.tmp_path('input')
        with open(path, 'wb') as f:
            f.write(data)
        return path

    @hypothesis.settings(_PROFILE)
    @hypothesis.given(file_bytes(), st.sampled_from([
        ('validate', '--file'), ('explain', '--fleet'),
        ('explain', '--capabilities-xml'),
        ('migration-plan', '--config-file'),
        ('migration-simulate', '--ram', '1GiB', '--link', '1GbE',
         '--config-file'),
        ('explain', '--config-file')]))
    def test_bad_files(self, data, command):
        self.run_clean(*command, self._bytes_file(data))

    @hypothesis.settings(_PROFILE)
    @hypothesis.given(
        st.sampled_from(['validate', 'explain', 'migration-plan',
                         'migration-simulate']),
        st.lists(st.tuples(
            st.sampled_from(['--flavor-property', '--image-property',
                             '--instance-property']),
            st.one_of(st.sampled_from(KEYS), st.text(max_size=10)),
            st.one_of(SCALARS, st.text(max_size=10))), max_size=3),
        st.lists(st.tuples(st.sampled_from(['--ram-mb', '--vcpus',
                                            '--disk-gb']),
                           ARGUMENT_VALUES), max_size=2))
    def test_bad_arguments(self, command, properties, numbers):
        argv = [command]
        if command == 'migration-simulate':
            argv += ['--ram', '2GiB', '--link', '10GbE']
        for option, name, value in properties:
            argv += [option, f'{name}={value}']
        for option, value in numbers:
            if command in ('validate', 'migration-simulate') or (
                    command == 'explain' and option == '--disk-gb'):
                continue
            argv += [option, value]
        if command == 'validate' and not properties:
            argv += ['--flavor-property', 'hw:numa_nodes=1']
        self.run_clean(*argv)

    @hypothesis.settings(_PROFILE)
    @hypothesis.given(
        st.sampled_from(['migration-simulate', 'migration-plan']),
        st.lists(st.tuples(st.sampled_from(SIMULATE_OPTIONS), QUANTITIES),
                 max_size=3))
    def test_simulation_arguments(self, command, options):
        argv = [command]
        if command == 'migration-simulate':
            argv += ['--ram', '1GiB', '--link', '10GbE']
        for option, value in options:
            if command == 'migration-plan' and option in (
                    '--ram', '--max-downtime', '--timeout', '--controller'):
                option = {'--ram': '--ram-mb'}.get(option, '--link')
            argv += [option, value]
        self.run_clean(*argv)

    def test_config_file_is_a_directory(self):
        for command in (['migration-plan'], ['explain'], [
                'migration-simulate', '--ram', '1GiB', '--link', '1GbE']):
            code, _out, err = self.run_clean(*command, '--config-file',
                                             self.tmp_path(''))
            self.assertEqual(2, code)
            self.assertIn('is a directory, not a nova.conf', err)

    def test_large_input_is_refused_before_parsing(self):
        """A 4 MiB file costs one bounded read, not a parse."""
        path = self._bytes_file(b'flavor: {' + b'a: b, ' * (700 * 1024) +
                                b'}\n')
        code, _out, err = self.run_clean('validate', '--file', path)
        self.assertEqual(2, code)
        self.assertIn(f'is larger than {inputs.MAX_BYTES // 1024} KiB', err)

    def test_alias_bomb_is_refused_before_building(self):
        path = self._bytes_file(b'a: &a [x, x]\nb: &b [*a, *a]\n'
                                b'c: [*b, *b]\n')
        code, _out, err = self.run_clean('validate', '--file', path)
        self.assertEqual(2, code)
        self.assertIn('YAML aliases (*a) are not accepted', err)

    def test_deep_nesting_is_refused(self):
        path = self._bytes_file(b'[' * 20000)
        code, _out, err = self.run_clean('validate', '--file', path)
        self.assertEqual(2, code)
        self.assertRegex(err, 'nested deeper than|maximum nesting depth')

    def test_yaml_parse_error_is_one_line_with_position(self):
        path = self._bytes_file(b'flavor:\n  a: [1, 2\n  b: 3\n')
        code, _out, err = self.run_clean('validate', '--file', path)
        self.assertEqual(2, code)
        self.assertRegex(err, r'is not valid JSON or YAML: line \d+, '
                              r'column \d+: ')

    def test_dates_stay_text(self):
        path = self._bytes_file(
            b'flavor:\n  hw:wrs:live_migration_timeout: 2024-01-01\n')
        code, out, err = self.run_clean('validate', '--file', path,
                                        '-f', 'value')
        self.assertEqual(1, code, err)
        self.assertIn("got '2024-01-01'", out)

    def test_huge_integers(self):
        if not HUGE_OK:
            self.skipTest('issue 10 class 3 (Key.parse and the ramps on '
                          'integers of any length) is not merged yet')
        for argv in (['migration-plan', '--flavor-property',
                      keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor + '=' +
                      '9' * 400],
                     ['validate', '--image-property',
                      keys.LIVE_MIGRATION_TIMEOUT.image + '=' + '1' * 5000]):
            code, _out, err = self.run_clean(*argv)
            self.assertIn(code, (0, 1), err)
        path = self._bytes_file(
            b'flavor:\n  hw:wrs:live_migration_timeout: 2024-01-01\n'
            b'image:\n  hw_wrs_live_migration_timeout: ' + b'1' * 5000 +
            b'\n')
        code, out, err = self.run_clean('validate', '--file', path,
                                        '-f', 'value')
        self.assertEqual(1, code, err)

    def test_lone_surrogate(self):
        path = self._bytes_file(b'{"flavor": {"hw:cpu_model": "\\ud800"}}')
        code, _out, err = self.run_clean('validate', '--file', path)
        self.assertEqual(2, code)
        self.assertRegex(err, 'lone surrogate|invalid Unicode')
        code, _out, err = self.run_clean(
            'validate', '--flavor-property', 'hw:cpu_model=\udcff')
        self.assertEqual(2, code)
        self.assertIn('lone surrogate', err)

    def test_binary_and_non_utf8_files(self):
        for data in (bytes(range(256)), b'flavor: \xe9t\xe9\n'):
            for command in (('validate', '--file'),
                            ('explain', '--capabilities-xml'),
                            ('explain', '--fleet')):
                code, _out, err = self.run_clean(*command,
                                                 self._bytes_file(data))
                self.assertEqual(2, code)

    def test_capabilities_without_cpu_or_topology(self):
        for xml in (b'<capabilities><host/></capabilities>',
                    b'<capabilities/>', b'<host/>'):
            code, _out, err = self.run_clean(
                'explain', '--capabilities-xml', self._bytes_file(xml))
            self.assertEqual(2, code)
