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

"""``nova-stx migration-simulate``."""

import csv
import io

import yaml

from nova_stx.cmd import migration_simulate
from nova_stx import keys
from nova_stx import nova_version
from nova_stx.tests.unit.cmd import test_cli
from nova_stx.virt.libvirt import migration_forecast

EXAMPLE = ('--ram', '64GiB', '--dirty-rate', '1GB/s', '--link', '10GbE')
TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT
DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME


class MigrationSimulateCommandTest(test_cli.CliTestCase):

    def run_cli(self, *argv):
        return super().run_cli('migration-simulate', *argv)

    def rows(self, *argv):
        code, rows, err = self.run_json(*argv)
        self.assertEqual((0, ''), (code, err))
        return {row['controller']: row for row in rows}

    def test_64_gib_dirtying_1_gbs_on_10gbe(self):
        """Every controller moves it; Nova's ramp takes 2.7 h, sla 104 s.

        With no key (500 ms, Nova's 800 s/GiB timeout: 51200 s) the 16 GiB
        working set levels off above what a short pause can carry: Nova's
        ramp (a step every 75 s/GiB = 4800 s) switches over once it
        allows 140 ms, at 9601 s, after 71,414 passes and 8.9 TiB sent;
        the StarlingX ramp over the same timeout at 6827 s; sla raises the
        downtime in one step at 81 s and completes at 103.6 s, 385 ms.
        """
        rows = self.rows(*EXAMPLE)
        self.assertEqual(list(migration_simulate.COLUMNS),
                         list(rows['nova']))
        self.assertEqual(
            {'nova': ('completed', 9600.7, 127, 'switch-over'),
             'starlingx': ('completed', 6826.7, 127, 'switch-over'),
             'sla': ('completed', 103.6, 385, 'switch-over')},
            {name: (r['outcome'], r['time_s'], r['downtime_ms'],
                    r['ended_by']) for name, r in rows.items()})
        self.assertEqual((True, False, False), tuple(
            rows[n]['configured'] for n in ('nova', 'starlingx', 'sla')))
        for row in rows.values():
            self.assertLessEqual(row['downtime_ms'], row['max_downtime_ms'])
        self.assertGreater(rows['nova']['data_gib'],
                           50 * rows['sla']['data_gib'])
        self.assertIn('Increasing downtime to 140 ms after 9600 sec',
                      rows['nova']['reason'])
        # The command prints what the pure forecast computes.
        forecast = migration_forecast.forecast(65536, 1e9 / (1 << 20), 10)
        self.assertEqual([r['time_s'] for r in forecast],
                         [rows[n]['time_s'] for n in
                          ('nova', 'starlingx', 'sla')])

    def test_max_downtime_100_will_not_move(self):
        rows = self.rows(*EXAMPLE, '--max-downtime', '100')
        self.assertEqual(('aborted', 'timeout', 51200.5), (
            rows['starlingx']['outcome'], rows['starlingx']['ended_by'],
            rows['starlingx']['time_s']))
        self.assertEqual(('aborted', 'hopeless', None), (
            rows['sla']['outcome'], rows['sla']['ended_by'],
            rows['sla']['downtime_ms']))
        self.assertLess(rows['sla']['time_s'], 120)
        self.assertIn('above the max downtime of 100 ms',
                      rows['sla']['reason'])

    def test_nothing_ends_it_within_the_horizon(self):
        rows = self.rows('--ram', '4GiB', '--dirty-rate', '2GB/s', '--link',
                         '10GbE', '--working-set', '2GiB', '--timeout', '0',
                         '--max-downtime', '100')
        self.assertEqual(('running', 48 * 3600, None, None), (
            rows['starlingx']['outcome'], rows['starlingx']['time_s'],
            rows['starlingx']['downtime_ms'], rows['starlingx']['ended_by']))
        self.assertEqual(('aborted', 'hopeless'), (
            rows['sla']['outcome'], rows['sla']['ended_by']))

    def test_every_format(self):
        code, table, _ = self.run_cli(*EXAMPLE)
        self.assertEqual(0, code)
        self.assertIn('| sla        | False      | completed |  103.6 | 385',
                      table)
        code, data, _ = self.run_json(*EXAMPLE)
        code, out, _ = self.run_cli(*EXAMPLE, '-f', 'yaml')
        self.assertEqual(data, yaml.safe_load(out))
        code, out, _ = self.run_cli(*EXAMPLE, '-f', 'csv')
        parsed = list(csv.DictReader(io.StringIO(out)))
        self.assertEqual(['nova', 'starlingx', 'sla'],
                         [r['controller'] for r in parsed])
        self.assertEqual('385', parsed[2]['downtime_ms'])
        code, out, _ = self.run_cli(*EXAMPLE, '-f', 'value', '-c',
                                    'controller', '-c', 'outcome')
        self.assertEqual('nova completed\nstarlingx completed\n'
                         'sla completed\n', out)

    def test_missing_downtime_is_a_dash_or_null(self):
        argv = ('--ram', '4GiB', '--dirty-rate', '2GB/s', '--link', '10GbE',
                '--working-set', '2GiB', '--max-downtime', '300',
                '--timeout', '600', '--controller', 'sla')
        code, out, _ = self.run_cli(*argv, '-c', 'outcome', '-c',
                                    'downtime_ms')
        self.assertEqual(0, code)
        self.assertIn('| aborted | -           |', out)
        self.assertIsNone(self.rows(*argv)['sla']['downtime_ms'])

    def test_version(self):
        code, out, _ = self.run_cli('--version')
        self.assertEqual((0, nova_version.versions_text()),
                         (code, out.strip()))

    def test_seeded_and_repeatable(self):
        argv = EXAMPLE + ('--seed', '3')
        self.assertEqual(self.rows(*argv), self.rows(*argv))
        self.assertNotEqual(self.rows(*argv)['sla']['downtime_ms'],
                            self.rows(*EXAMPLE)['sla']['downtime_ms'])

    def test_controllers_chosen_and_configured(self):
        conf = self.write_file('nova.conf', '[nova_stx]\n'
                               'live_migration_controller = sla\n')
        code, rows, _ = self.run_json('--ram', '2GiB', '--link', '1GbE',
                                      '--controller', 'sla', '--controller',
                                      'nova', '--controller', 'sla',
                                      '--config-file', conf)
        self.assertEqual(0, code)
        self.assertEqual([('sla', True), ('nova', False)],
                         [(r['controller'], r['configured']) for r in rows])

    def test_keys_and_properties_set_the_limits(self):
        rows = self.rows('--ram', '2GiB', '--link', '10GbE', '--timeout',
                         '0', '--image-property', f'{DOWNTIME.image}=800')
        self.assertEqual((0, 800), (rows['sla']['timeout_s'],
                                    rows['sla']['max_downtime_ms']))
        rows = self.rows('--ram', '2GiB', '--link', '10GbE',
                         '--max-downtime', '250')
        self.assertEqual(250, rows['starlingx']['max_downtime_ms'])

    def test_clamped_property_is_a_warning(self):
        code, rows, err = self.run_json(
            '--ram', '2GiB', '--link', '10GbE', '--instance-property',
            f'{TIMEOUT.instance}=5')
        self.assertEqual(0, code)
        self.assertEqual({120}, {r['timeout_s'] for r in rows})
        self.assertEqual(
            "nova-stx migration-simulate: warning: "
            "hw:wrs:live_migration_timeout must be 0 or in the range 120 to "
            "800; got '5'. Using 120.", err.strip())

    def test_typos_are_caught(self):
        base = ('--ram', '2GiB', '--link', '10GbE')
        for argv, text in (
                (('--flavor-property', 'hw:wrs:live_migration_timout=300'),
                 'did you mean hw:wrs:live_migration_timeout?'),
                (('--controller', 'slaa'),
                 "--controller 'slaa' is not a controller; did you mean "
                 "sla?"),
                (('--controller', 'ovirt'),
                 'choose from nova, starlingx, sla'),
                (('--max-downtme', '300'), 'unrecognized arguments')):
            code, out, err = self.run_cli(*base, *argv)
            self.assertEqual((2, ''), (code, out), argv)
            self.assertIn(text, err)
            self.assertEqual(1, len(err.splitlines()), err)

    def test_bad_inputs_name_option_value_and_rule(self):
        base = {'--ram': '2GiB', '--link': '10GbE'}
        for extra, text in (
                ({'--ram': '64'}, "argument --ram: '64' needs a unit, e.g. "
                 "64GiB"),
                ({'--ram': '64Gb'}, "argument --ram: '64Gb' has the unit "
                 "'Gb' in the wrong case (B is a byte, b a bit): did you "
                 "mean GB?"),
                ({'--dirty-rate': '1gb/s'}, "argument --dirty-rate: '1gb/s' "
                 "has the unit 'gb/s' in the wrong case (B is a byte, b a "
                 "bit): did you mean GB/s or Gb/s?"),
                ({'--dirty-rate': 'fast'}, "argument --dirty-rate: 'fast' "
                 "is not a number and unit like 1GB/s"),
                ({'--link': '10'}, "argument --link: '10' needs a unit, "
                 "e.g. 10GbE"),
                ({'--link': 'inf'}, 'argument --link: '),
                ({'--ram': '17TiB'}, "argument --ram: must be from 1 MiB to "
                 "16 TiB, got '17TiB'"),
                ({'--ram': '16TiB', '--link': '1Mbit/s'},
                 'error: --ram 16 TiB over --link 1 Mbit/s takes 41589 h '
                 'for the first copy alone; the simulation takes RAM that '
                 'crosses the link within 12 h'),
                ({'--working-set': '3GiB'}, 'error: --working-set 3 GiB '
                 'must be at most the RAM (--ram 2 GiB)'),
                ({'--max-downtime': '50'}, "error: --max-downtime must be "
                 "in the range 100 to 2000000 (ms, as "
                 "hw:wrs:live_migration_max_downtime); got '50'"),
                ({'--timeout': '900'}, "error: --timeout must be 0 or in "
                 "the range 120 to 800 (s, as hw:wrs:live_migration_timeout)"
                 "; got '900'"),
                ({'--timeout': '9' * 5000}, 'error: --timeout must be 0 or '
                 'in the range 120 to 800'),
                ({'--seed': '-1'}, 'argument --seed: must be a whole number '
                 'from 0 to 4294967295')):
            argv = [a for k, v in {**base, **extra}.items() for a in (k, v)]
            code, out, err = self.run_cli(*argv)
            self.assertEqual((2, ''), (code, out), argv)
            self.assertIn(text, err, argv)
            self.assertEqual(1, len(err.splitlines()), err)
            self.assertTrue(err.startswith('nova-stx migration-simulate: '
                                           'error: '), err)

    def test_option_and_property_for_one_key(self):
        code, _, err = self.run_cli(
            '--ram', '2GiB', '--link', '10GbE', '--timeout', '300',
            '--flavor-property', f'{TIMEOUT.flavor}=200')
        self.assertEqual(2, code)
        self.assertIn('--timeout and --flavor-property '
                      'hw:wrs:live_migration_timeout both set it', err)

    def test_required_options(self):
        code, _, err = self.run_cli('--link', '10GbE')
        self.assertEqual(2, code)
        self.assertIn('the following arguments are required: --ram', err)
