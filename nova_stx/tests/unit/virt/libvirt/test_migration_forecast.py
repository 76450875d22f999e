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

"""The operator's view: describe() and forecast()."""

from oslotest import base

from nova_stx import keys
from nova_stx.virt.libvirt import migration_forecast as forecast
from nova_stx.virt.libvirt import migration_policy as mp

DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor
TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT.flavor
FIELDS = {'controller', 'supervised', 'max_downtime_ms', 'timeout_s',
          'outcome', 'time_s', 'downtime_ms', 'downtime_limit_ms',
          'data_gib', 'passes', 'ended_by', 'reason'}


class DescribeTest(base.BaseTestCase):

    def test_no_key_nova_controller_is_novas_monitor(self):
        view = forecast.describe(mp.plan({}, {}, {}, 2.0, mp.Settings()))
        self.assertEqual((False, None), (view['supervised'],
                                         view['early_end']))
        self.assertIn("Nova's own monitor", view['action'])
        self.assertEqual([0, 50], view['steps'][0])

    def test_sla_ends_early_by_the_timeout_action(self):
        plan = mp.plan({}, {}, {}, 2.0, mp.Settings(controller='sla'))
        self.assertEqual(('abort', []), (forecast.describe(plan)[
            'early_end'], forecast.describe(plan)['steps']))
        plan = mp.plan({}, {}, {}, 2.0, mp.Settings(
            controller='sla', permit_post_copy=True,
            timeout_action='force_complete'))
        self.assertEqual('post_copy', forecast.describe(plan)['early_end'])


class EffectivePlanTest(base.BaseTestCase):

    def test_unsupervised_runs_novas_ramp_and_timeout(self):
        settings = mp.Settings(ramp='exponential', timeout_s=300)
        plan = forecast.effective_plan({}, {}, {}, 64.0, settings)
        self.assertEqual(('nova', 51200, (4800, 95)), (
            plan.ramp, plan.timeout_s, plan.steps[1]))
        self.assertIn('[nova_stx] live_migration_timeout does not apply',
                      plan.warnings[0])
        self.assertEqual((), forecast.effective_plan(
            {}, {}, {}, 64.0, mp.Settings()).warnings)

    def test_supervised_plan_is_the_policys(self):
        for flavor, settings in (({TIMEOUT: '300'}, mp.Settings()),
                                 ({}, mp.Settings(controller='sla',
                                                  timeout_s=300))):
            self.assertEqual(
                mp.plan(flavor, {}, {}, 64.0, settings),
                forecast.effective_plan(flavor, {}, {}, 64.0, settings))


class ForecastTest(base.BaseTestCase):

    def test_64_gib_dirtying_1_gbs_on_10gbe(self):
        rows = {r['controller']: r for r in forecast.forecast(
            65536, 1000 * 10 ** 6 / (1 << 20), 10)}
        self.assertEqual(set(mp.CONTROLLERS), set(rows))
        for row in rows.values():
            self.assertEqual(FIELDS, set(row))
            self.assertEqual('completed', row['outcome'])
            self.assertLessEqual(row['downtime_ms'], 500)
        # No key: Nova's 75 s/GiB ramp waits; the sla controller jumps.
        self.assertFalse(rows['nova']['supervised'])
        self.assertGreater(rows['nova']['time_s'], 3000)
        self.assertLess(rows['sla']['time_s'], 200)
        self.assertLess(rows['sla']['data_gib'],
                        rows['nova']['data_gib'] / 10)
        # Nova's own ramp: a step every 75 s/GiB, 4800 s here.
        self.assertEqual((140, 9600.7), (rows['nova']['downtime_limit_ms'],
                                         rows['nova']['time_s']))
        self.assertIn('after 9600 sec', rows['nova']['reason'])

    def test_hopeless_guest_is_aborted_early_only_by_sla(self):
        rows = {r['controller']: r for r in forecast.forecast(
            4096, 2000, 10, hot_mib=2048,
            flavor={DOWNTIME: '300', TIMEOUT: '600'})}
        self.assertEqual(('aborted', 'timeout'), (
            rows['starlingx']['outcome'], rows['starlingx']['ended_by']))
        self.assertEqual(('aborted', 'hopeless'), (
            rows['sla']['outcome'], rows['sla']['ended_by']))
        self.assertLess(rows['sla']['time_s'], 60)
        self.assertIn('Stalled', rows['sla']['reason'])

    def test_bad_numbers_are_clear_errors(self):
        for args in ((0, 10, 10), (float('inf'), 10, 10), (1024, -1, 10),
                     (1024, 10, float('nan'))):
            exc = self.assertRaises(ValueError, forecast.forecast, *args)
            self.assertIn('finite number above 0', str(exc))

    def test_seeded_and_repeatable(self):
        self.assertEqual(forecast.forecast(8192, 500, 1, seed=3),
                         forecast.forecast(8192, 500, 1, seed=3))
