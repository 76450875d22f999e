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

"""``nova-stx migration-plan``."""

from nova_stx.cmd import migration_plan
from nova_stx import keys
from nova_stx.tests.unit.cmd import test_cli

TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT
DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME


class MigrationPlanCommandTest(test_cli.CliTestCase):

    def _conf(self, text):
        return self.write_file('nova.conf', text)

    def run_cli(self, *argv):
        return super().run_cli('migration-plan', *argv)

    def test_json_exponential_seed_table(self):
        conf = self._conf('[libvirt]\nlive_migration_downtime = 400\n'
                          'live_migration_downtime_steps = 10\n'
                          'live_migration_downtime_delay = 30\n'
                          '[nova_stx]\n'
                          'live_migration_controller = starlingx\n'
                          'live_migration_downtime_ramp = exponential\n')
        code, data, _ = self.run_json('--ram-mb', '3072', '--config-file',
                                      conf)
        self.assertEqual(0, code)
        self.assertEqual(
            [[0, 37], [90, 38], [180, 39], [270, 42], [360, 46], [450, 55],
             [540, 70], [630, 98], [720, 148], [810, 238], [900, 400]],
            data['steps'])
        self.assertEqual((400, 'config', 2400, 'abort'), (
            data['max_downtime_ms'], data['max_downtime_source'],
            data['timeout_s'], data['timeout_action']))

    def test_json_starlingx_default_ramp(self):
        code, data, _ = self.run_json(
            '--flavor-property', f'{TIMEOUT.flavor}=180',
            '--flavor-property', f'{DOWNTIME.flavor}=500')
        self.assertEqual(0, code)
        self.assertEqual([[12 * i, 50 + 45 * i] for i in range(11)],
                         data['steps'])
        self.assertEqual(('flavor', 'flavor', 'host', 'host'), (
            data['timeout_source'], data['max_downtime_source'],
            data['auto_converge_source'], data['tunnelled_source']))

    def test_table_shows_sources_ramp_and_action(self):
        conf = self._conf('[libvirt]\nlive_migration_permit_post_copy = '
                          'true\n[nova_stx]\nlive_migration_timeout_action'
                          ' = force_complete\n')
        code, out, _ = self.run_cli(
            '--image-property', f'{TIMEOUT.image}=300',
            '--instance-property',
            f'{keys.LIVE_MIGRATION_TUNNEL.instance}=true',
            '--config-file', conf, '-f', 'shell')
        self.assertEqual(0, code)
        for line in ('timeout_s="300"', 'timeout_source="image"',
                     'timeout_action="force_complete"', 'post_copy="True"',
                     'tunnelled="True"', 'tunnelled_source="instance"'):
            self.assertIn(line, out.splitlines())
        code, out, _ = self.run_cli('--image-property',
                                    f'{TIMEOUT.image}=300')
        self.assertIn('after 200 s: 500 ms', out)

    def test_out_of_range_values_show_what_the_driver_does(self):
        """Clamped or ignored, with the driver's warning; exit 0."""
        code, data, err = self.run_json(
            '--instance-property', f'{TIMEOUT.instance}=100',
            '--flavor-property', f'{DOWNTIME.flavor}=fast')
        self.assertEqual((0, ''), (code, err))
        self.assertEqual((120, 'instance', 500, 'config'), (
            data['timeout_s'], data['timeout_source'],
            data['max_downtime_ms'], data['max_downtime_source']))
        self.assertEqual(
            ["hw:wrs:live_migration_max_downtime must be an integer; got "
             "'fast'. Ignored.",
             "hw:wrs:live_migration_timeout must be 0 or in the range 120 "
             "to 800; got '100'. Using 120."], sorted(data['warnings']))

    def test_misspelt_key_is_usage_error(self):
        code, out, err = self.run_cli(
            '--instance-property', 'hw:wrs:live_migration_timout=300')
        self.assertEqual((2, ''), (code, out))
        self.assertEqual(
            'nova-stx migration-plan: error: hw:wrs:live_migration_timout is '
            'not an instance property nova-stx or Nova knows; did you mean '
            'hw:wrs:live_migration_timeout?', err.strip())

    def test_tenant_bound_is_a_warning(self):
        conf = self._conf('[nova_stx]\ntenant_live_migration_timeout_min '
                          '= 300\n')
        code, data, _ = self.run_json(
            '--image-property', f'{TIMEOUT.image}=150',
            '--config-file', conf)
        self.assertEqual(0, code)
        self.assertEqual((300, 'image'), (data['timeout_s'],
                                          data['timeout_source']))
        self.assertIn('hw_wrs_live_migration_timeout must be in the range '
                      '300 to 800', data['warnings'][0])

    def test_inconsistent_config_is_usage_error(self):
        conf = self._conf('[nova_stx]\ntenant_live_migration_timeout_min = '
                          '700\ntenant_live_migration_timeout_max = 200\n')
        code, _, err = self.run_cli('--config-file', conf)
        self.assertEqual(2, code)
        self.assertIn('tenant_live_migration_timeout_min (700) is greater '
                      'than tenant_live_migration_timeout_max (200)', err)

    def test_bad_pair_missing_file_and_bad_option_are_usage_errors(self):
        self.assertEqual(2, self.run_cli('--flavor-property', 'novalue')[0])
        missing = self.tmp_path('missing.conf')
        code, _, err = self.run_cli('--config-file', missing)
        self.assertEqual(2, code)
        self.assertIn(f'cannot read nova.conf {missing}', err)
        conf = self._conf('[nova_stx]\nlive_migration_downtime_ramp = '
                          'linear\n')
        code, _, err = self.run_cli('--config-file', conf)
        self.assertEqual(2, code)
        self.assertIn('live_migration_downtime_ramp', err)
        for bad in ('-5', 'inf', '1e400', 'nan', '0'):
            code, _, err = self.run_cli('--ram-mb', bad)
            self.assertEqual(2, code, bad)
            self.assertEqual(1, len(err.splitlines()), err)
        code, _, err = self.run_cli('--config-file', self.tmp_path(''))
        self.assertEqual(2, code)
        self.assertIn('is a directory', err)

    def test_build_plan_and_fields_for_callers(self):
        plan = migration_plan.build_plan(
            flavor={TIMEOUT.flavor: '0'}, ram_mb=4096)
        fields = dict(migration_plan.fields(plan))
        self.assertEqual((0, 'flavor'), (fields['timeout_s'],
                                         fields['timeout_source']))
        # No timeout to scale by: Nova's 75 s per GiB between steps.
        self.assertEqual('after 3000 s: 500 ms',
                         fields['steps'].human_readable().splitlines()[-1])

    def test_no_key_shows_novas_own_monitor(self):
        """Nova's ramp and per-GiB timeout, whatever the [nova_stx] ramp."""
        conf = self._conf('[nova_stx]\nlive_migration_downtime_ramp = '
                          'exponential\nlive_migration_timeout = 300\n')
        code, data, _ = self.run_json('--ram-mb', '65536',
                                      '--config-file', conf)
        self.assertEqual(0, code)
        self.assertEqual(('nova', False, 'nova', 51200, [4800, 95]), (
            data['controller'], data['supervised'], data['ramp'],
            data['timeout_s'], data['steps'][1]))
        self.assertIn("Nova's own monitor", data['controller_action'])
        self.assertEqual(["[nova_stx] live_migration_timeout does not "
                          "apply: with the nova controller and no key for "
                          "the limits, Nova's own monitor runs the "
                          "migration."], data['warnings'])

    def test_what_the_sla_controller_does(self):
        conf = self._conf('[libvirt]\nlive_migration_permit_post_copy = '
                          'true\n[nova_stx]\nlive_migration_controller = sla\n'
                          'live_migration_timeout_action = force_complete\n')
        code, data, _ = self.run_json('--config-file', conf)
        self.assertEqual(0, code)
        self.assertEqual(('sla', True, 'post_copy', 50), (
            data['controller'], data['supervised'], data['early_end'],
            data['initial_downtime_ms']))
        self.assertIn('Downtime raised in one step', data['controller_action'])
        code, out, _ = self.run_cli('-c', 'early_end')
        self.assertIn('| early_end | -     |', out)

    def test_forecast_of_the_configured_controller(self):
        argv = ('--ram-mb', '65536', '--dirty-rate', '1GB/s', '--link',
                '10GbE')
        code, data, _ = self.run_json(*argv)
        self.assertEqual(0, code)
        self.assertEqual(('completed', 9600.7, 127, 'switch-over'), (
            data['forecast_outcome'], data['forecast_time_s'],
            data['forecast_downtime_ms'], data['forecast_ended_by']))
        conf = self._conf('[nova_stx]\nlive_migration_controller = sla\n')
        code, data, _ = self.run_json(*argv, '--config-file', conf)
        self.assertEqual((0, 'completed', 103.6, 385), (
            code, data['forecast_outcome'], data['forecast_time_s'],
            data['forecast_downtime_ms']))
        code, data, _ = self.run_json()
        self.assertNotIn('forecast_outcome', data)

    def test_disks_scale_the_forecasts_timeout(self):
        code, data, _ = self.run_json('--ram-mb', '4096', '--disk-gb', '10',
                                      '--link', '1GbE', '--dirty-rate',
                                      '2GB/s')
        self.assertEqual((0, 11200, 'aborted', 'timeout'), (
            code, data['timeout_s'], data['forecast_outcome'],
            data['forecast_ended_by']))
        self.assertEqual(11200.5, data['forecast_time_s'])

    def test_forecast_options_errors(self):
        for argv, text in (
                (('--dirty-rate', '1GB/s'), 'error: --dirty-rate describes '
                 'the guest for a forecast, which needs --link'),
                (('--link', '10'), "argument --link: '10' needs a unit, "
                 "e.g. 10GbE"),
                (('--link', '10GbE', '--working-set', '4GiB'),
                 'error: --working-set 4 GiB must be at most the RAM '
                 '(--ram-mb 2 GiB)'),
                (('--ram-mb', '1073741824', '--link', '1GbE'),
                 'error: --ram-mb 1024 TiB: the simulation takes RAM up to '
                 '16 TiB'),
                (('--ram-mb', '8388608', '--link', '1GbE'),
                 'error: --ram-mb 8 TiB over --link 1 Gbit/s takes 21 h '
                 'for the first copy alone; the simulation takes RAM that '
                 'crosses the link within 12 h')):
            code, out, err = self.run_cli(*argv)
            self.assertEqual((2, ''), (code, out), argv)
            self.assertIn(text, err)
            self.assertEqual(1, len(err.splitlines()), err)
