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

import json


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
                          'live_migration_downtime_ramp = exponential\n')
        code, out, _ = self.run_cli('--ram-mb', '3072', '--config-file',
                                    conf, '--format', 'json')
        self.assertEqual(0, code)
        data = json.loads(out)
        self.assertEqual(
            [[0, 37], [90, 38], [180, 39], [270, 42], [360, 46], [450, 55],
             [540, 70], [630, 98], [720, 148], [810, 238], [900, 400]],
            data['steps'])
        self.assertEqual((400, 'config', 2400, 'abort'), (
            data['max_downtime_ms'], data['sources']['max_downtime_ms'],
            data['timeout_s'], data['timeout_action']))

    def test_json_starlingx_default_ramp(self):
        code, out, _ = self.run_cli(
            '--flavor-property', f'{TIMEOUT.flavor}=180',
            '--flavor-property', f'{DOWNTIME.flavor}=500',
            '--format', 'json')
        self.assertEqual(0, code)
        data = json.loads(out)
        self.assertEqual([[12 * i, 50 + 45 * i] for i in range(11)],
                         data['steps'])
        self.assertEqual({'timeout_s': 'flavor',
                          'max_downtime_ms': 'flavor',
                          'auto_converge': 'host', 'tunnelled': 'host'},
                         data['sources'])

    def test_text_shows_sources_ramp_and_action(self):
        conf = self._conf('[libvirt]\nlive_migration_permit_post_copy = '
                          'true\n[nova_stx]\nlive_migration_timeout_action'
                          ' = force_complete\n')
        code, out, _ = self.run_cli(
            '--image-property', f'{TIMEOUT.image}=300',
            '--instance-property',
            f'{keys.LIVE_MIGRATION_TUNNEL.instance}=true',
            '--config-file', conf)
        self.assertEqual(0, code)
        self.assertIn('Timeout:        300 s (image)', out)
        self.assertIn('Timeout action: force_complete (post-copy)', out)
        self.assertIn('Tunnelled:      true (instance)', out)
        self.assertIn('after   200 s:   500 ms', out)

    def test_invalid_value_is_usage_error_naming_key_value_rule(self):
        code, out, err = self.run_cli(
            '--instance-property', f'{TIMEOUT.instance}=100',
            '--flavor-property', f'{DOWNTIME.flavor}=fast')
        self.assertEqual(2, code)
        self.assertEqual('', out)
        self.assertIn("hw:wrs:live_migration_timeout must be 0 or in the "
                      "range 120 to 800; got '100'.", err)
        self.assertIn("hw:wrs:live_migration_max_downtime must be an "
                      "integer; got 'fast'.", err)
        self.assertNotIn('Traceback', err)

    def test_tenant_bound_is_a_warning(self):
        conf = self._conf('[nova_stx]\ntenant_live_migration_timeout_min '
                          '= 300\n')
        code, out, _ = self.run_cli(
            '--image-property', f'{TIMEOUT.image}=150',
            '--config-file', conf)
        self.assertEqual(0, code)
        self.assertIn('Timeout:        300 s (image)', out)
        self.assertIn("Warnings:\n  hw_wrs_live_migration_timeout must be "
                      "in the range 300 to 800", out)

    def test_bad_pair_missing_file_and_bad_option_are_usage_errors(self):
        self.assertEqual(2, self.run_cli('--flavor-property', 'novalue')[0])
        missing = self.tmp_path('missing.conf')
        code, _, err = self.run_cli('--config-file', missing)
        self.assertEqual((2, f'cannot read {missing}'),
                         (code, err.split('error: ')[1].strip()))
        conf = self._conf('[nova_stx]\nlive_migration_downtime_ramp = '
                          'linear\n')
        code, _, err = self.run_cli('--config-file', conf)
        self.assertEqual(2, code)
        self.assertIn('live_migration_downtime_ramp', err)
        self.assertEqual(2, self.run_cli('--ram-mb', '-5')[0])

    def test_build_plan_and_render_text_for_callers(self):
        plan = migration_plan.build_plan(
            flavor={TIMEOUT.flavor: '0'}, ram_mb=4096)
        text = migration_plan.render_text(plan)
        self.assertIn('Timeout:        none (0) (flavor)', text)
        # No timeout to scale by: Nova's 75 s per GiB between steps.
        self.assertIn('after   300 s:    95 ms', text)
