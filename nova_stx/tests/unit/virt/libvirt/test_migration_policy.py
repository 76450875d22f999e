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

"""The live-migration policy, with plain numbers."""

import dataclasses

from nova.conf import libvirt as nova_libvirt_conf
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslotest import base

from nova_stx import conf as stx_conf
from nova_stx import keys
from nova_stx.virt.libvirt import downtime_ramp
from nova_stx.virt.libvirt import migration_policy as mp

FLAVOR_TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT.flavor
IMAGE_TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT.image
INSTANCE_TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT.instance
FLAVOR_DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor
IMAGE_DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME.image
INSTANCE_DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME.instance
FLAVOR_AC = keys.LIVE_MIGRATION_AUTO_CONVERGE.flavor
INSTANCE_AC = keys.LIVE_MIGRATION_AUTO_CONVERGE.instance
FLAVOR_TUNNEL = keys.LIVE_MIGRATION_TUNNEL.flavor
INSTANCE_TUNNEL = keys.LIVE_MIGRATION_TUNNEL.instance

#: StarlingX's driver unit tests ran with these options.
STX_TEST_SETTINGS = mp.Settings(timeout_s=800, downtime_ms=400)

#: 180 s / 500 ms, StarlingX's deployed defaults (semantics.md section 2).
STARLINGX_180_500 = ((0, 50), (12, 95), (24, 140), (36, 185), (48, 230),
                     (60, 275), (72, 320), (84, 365), (96, 410), (108, 455),
                     (120, 500))
#: Nova Liberty's exponential ramp, the seed table of semantics.md section 2.
EXPONENTIAL_SEED = ((0, 37), (90, 38), (180, 39), (270, 42), (360, 46),
                    (450, 55), (540, 70), (630, 98), (720, 148), (810, 238),
                    (900, 400))


def _plan(flavor=None, image=None, instance=None, gib=2.0,
          settings=STX_TEST_SETTINGS):
    return mp.plan(flavor or {}, image or {}, instance or {}, gib, settings)


class TimeoutPrecedenceTest(base.BaseTestCase):
    """StarlingX's timeout vectors (config timeout 800, downtime 400)."""

    def _timeout(self, flavor=None, image=None, instance=None):
        result = _plan({FLAVOR_TIMEOUT: flavor} if flavor is not None
                       else None,
                       {IMAGE_TIMEOUT: image} if image is not None else None,
                       {INSTANCE_TIMEOUT: instance}
                       if instance is not None else None)
        return result.timeout_s, result.sources['timeout_s']

    def test_timeout_nothing_set_is_config(self):
        self.assertEqual((800, 'config'), self._timeout())

    def test_timeout_flavor_only(self):
        self.assertEqual((300, 'flavor'), self._timeout(flavor='300'))

    def test_timeout_image_only(self):
        self.assertEqual((400, 'image'), self._timeout(image='400'))

    def test_timeout_instance_only(self):
        self.assertEqual((200, 'instance'), self._timeout(instance='200'))

    def test_timeout_flavor_smaller_than_image(self):
        self.assertEqual((300, 'flavor'),
                         self._timeout(flavor='300', image='400'))

    def test_timeout_image_smaller_than_flavor(self):
        self.assertEqual((200, 'image'),
                         self._timeout(flavor='300', image='200'))

    def test_timeout_instance_smallest_but_below_range_is_clamped(self):
        # NOTE(nova-stx): StarlingX used the instance's 100 raw, below its
        # own API range of 120..800; we clamp it to 120 and say so.
        result = _plan({FLAVOR_TIMEOUT: '300'}, {IMAGE_TIMEOUT: '200'},
                       {INSTANCE_TIMEOUT: '100'})
        self.assertEqual(120, result.timeout_s)
        self.assertEqual('instance', result.sources['timeout_s'])
        self.assertEqual(
            ["hw:wrs:live_migration_timeout must be 0 or in the range 120 "
             "to 800; got '100'. Using 120."], list(result.warnings))

    def test_timeout_zero_image_does_not_beat_non_zero(self):
        self.assertEqual((300, 'flavor'),
                         self._timeout(flavor='300', image='0',
                                       instance='400'))

    def test_timeout_zero_flavor_does_not_beat_image(self):
        self.assertEqual((200, 'image'),
                         self._timeout(flavor='0', image='200'))

    def test_timeout_zero_everywhere_disables(self):
        self.assertEqual(0, self._timeout(flavor='0', image='0')[0])

    def test_timeout_ignores_downtime_keys(self):
        result = _plan({FLAVOR_DOWNTIME: '0'}, {IMAGE_DOWNTIME: '0'})
        self.assertEqual(800, result.timeout_s)

    def test_timeout_unset_config_is_nova_per_gib(self):
        settings = mp.Settings(completion_timeout_per_gib=800)
        self.assertEqual(3200, _plan(gib=4.0, settings=settings).timeout_s)


class DowntimePrecedenceTest(base.BaseTestCase):
    """StarlingX's downtime vectors (config timeout 800, downtime 400)."""

    def test_downtime_nothing_set_is_config(self):
        result = _plan()
        self.assertEqual((400, 'config'), (
            result.max_downtime_ms, result.sources['max_downtime_ms']))

    def test_downtime_flavor_only(self):
        self.assertEqual(100, _plan({FLAVOR_DOWNTIME: '100'}).max_downtime_ms)

    def test_downtime_image_below_minimum_reverts_to_config(self):
        result = _plan(image={IMAGE_DOWNTIME: '10'})
        self.assertEqual(400, result.max_downtime_ms)
        self.assertEqual(
            ["hw_wrs_live_migration_max_downtime must be in the range 100 "
             "to 2000000; got '10'. Ignored."], list(result.warnings))

    def test_downtime_image_only(self):
        self.assertEqual(200, _plan(image={IMAGE_DOWNTIME: '200'})
                         .max_downtime_ms)

    def test_downtime_instance_only(self):
        self.assertEqual(400, _plan(instance={INSTANCE_DOWNTIME: '400'})
                         .max_downtime_ms)

    def test_downtime_instance_beats_image(self):
        result = _plan(image={IMAGE_DOWNTIME: '200'},
                       instance={INSTANCE_DOWNTIME: '400'})
        self.assertEqual((400, 'instance'), (
            result.max_downtime_ms, result.sources['max_downtime_ms']))

    def test_downtime_flavor_beats_all(self):
        result = _plan({FLAVOR_DOWNTIME: '100'}, {IMAGE_DOWNTIME: '200'},
                       {INSTANCE_DOWNTIME: '400'})
        self.assertEqual((100, 'flavor'), (
            result.max_downtime_ms, result.sources['max_downtime_ms']))

    def test_downtime_invalid_flavor_falls_to_next_source(self):
        result = _plan({FLAVOR_DOWNTIME: '50'}, {IMAGE_DOWNTIME: '200'})
        self.assertEqual((200, 'image'), (
            result.max_downtime_ms, result.sources['max_downtime_ms']))


class JunkValuesTest(base.BaseTestCase):

    def test_junk_timeouts_are_ignored_with_a_warning(self):
        for junk in ('abc', '', '12.5', '-1', '3_00', 'True', '0x10'):
            result = _plan(image={IMAGE_TIMEOUT: junk})
            self.assertEqual(800, result.timeout_s, junk)
            self.assertEqual(1, len(result.warnings), junk)
            self.assertIn(IMAGE_TIMEOUT, result.warnings[0])
            self.assertIn(f"'{junk}'", result.warnings[0])
            self.assertTrue(result.warnings[0].endswith('Ignored.'), junk)

    def test_timeout_above_range_is_clamped(self):
        result = _plan({FLAVOR_TIMEOUT: '5000'})
        self.assertEqual(800, result.timeout_s)
        self.assertIn("got '5000'. Using 800.", result.warnings[0])

    def test_junk_downtime_is_ignored_with_a_warning(self):
        for junk in ('fast', '-500', '99', '1e3', 'None'):
            result = _plan(instance={INSTANCE_DOWNTIME: junk})
            self.assertEqual(400, result.max_downtime_ms, junk)
            self.assertIn(INSTANCE_DOWNTIME, result.warnings[0])

    def test_non_string_values_are_parsed(self):
        result = _plan({FLAVOR_TIMEOUT: 300, FLAVOR_DOWNTIME: 250})
        self.assertEqual((300, 250),
                         (result.timeout_s, result.max_downtime_ms))

    def test_junk_flag_is_ignored_and_host_decides(self):
        result = _plan(instance={INSTANCE_AC: 'yes'})
        self.assertIsNone(result.auto_converge)
        self.assertEqual('host', result.sources['auto_converge'])
        self.assertIn(INSTANCE_AC, result.warnings[0])


class IntegerSpellingTest(base.BaseTestCase):
    """The driver reads integers as Nova's API validators do."""

    def test_sign_and_whitespace_are_read(self):
        for text in (' 300', '+300', '300\n', ' +300 '):
            result = _plan(image={IMAGE_TIMEOUT: text},
                           instance={INSTANCE_DOWNTIME: text})
            self.assertEqual((300, 300), (result.timeout_s,
                                          result.max_downtime_ms), text)
            self.assertEqual((), tuple(result.warnings), text)

    def test_out_of_range_spelt_with_a_sign_is_clamped(self):
        result = _plan({FLAVOR_TIMEOUT: ' +5000'})
        self.assertEqual(800, result.timeout_s)
        self.assertIn("got ' +5000'. Using 800.", result.warnings[0])

    def test_integers_longer_than_pythons_digit_limit(self):
        result = _plan({FLAVOR_TIMEOUT: '0' * 4301})
        self.assertEqual(0, result.timeout_s)
        result = _plan({FLAVOR_TIMEOUT: '0' * 4301 + '300',
                        FLAVOR_DOWNTIME: '0' * 4301 + '250'})
        self.assertEqual((300, 250),
                         (result.timeout_s, result.max_downtime_ms))
        result = _plan({FLAVOR_TIMEOUT: '9' * 5000})
        self.assertEqual(800, result.timeout_s)
        self.assertIn("(5000 characters)'. Using 800.", result.warnings[0])
        result = _plan({FLAVOR_TIMEOUT: '-' + '9' * 5000})
        self.assertEqual(800, result.timeout_s)
        self.assertTrue(result.warnings[0].endswith('Ignored.'))


class TenantBoundsTest(base.BaseTestCase):

    def test_tenant_timeout_raised_to_operator_minimum(self):
        settings = dataclasses.replace(STX_TEST_SETTINGS,
                                       tenant_timeout_min=300)
        result = _plan(instance={INSTANCE_TIMEOUT: '150'},
                       settings=settings)
        self.assertEqual(300, result.timeout_s)
        self.assertIn('tenant_live_migration_timeout_min',
                      result.warnings[0])

    def test_tenant_timeout_lowered_to_operator_maximum(self):
        settings = mp.Settings(timeout_s=180, tenant_timeout_max=300)
        result = _plan(image={IMAGE_TIMEOUT: '800'}, settings=settings)
        self.assertEqual(300, result.timeout_s)

    def test_flavor_timeout_not_bounded_by_tenant_limits(self):
        settings = dataclasses.replace(STX_TEST_SETTINGS,
                                       tenant_timeout_min=300)
        self.assertEqual(150, _plan({FLAVOR_TIMEOUT: '150'},
                                    settings=settings).timeout_s)

    def test_tenant_zero_ignored_when_disabling_not_allowed(self):
        settings = dataclasses.replace(STX_TEST_SETTINGS,
                                       tenant_timeout_allow_disable=False)
        result = _plan(image={IMAGE_TIMEOUT: '0'}, settings=settings)
        self.assertEqual((800, 'config'),
                         (result.timeout_s, result.sources['timeout_s']))
        self.assertIn('tenant_live_migration_timeout_allow_disable',
                      result.warnings[0])

    def test_tenant_zero_disables_when_allowed(self):
        self.assertEqual(0, _plan(image={IMAGE_TIMEOUT: '0'}).timeout_s)

    def test_flavor_zero_allowed_when_tenants_may_not_disable(self):
        settings = dataclasses.replace(STX_TEST_SETTINGS,
                                       tenant_timeout_allow_disable=False)
        self.assertEqual(0, _plan({FLAVOR_TIMEOUT: '0'},
                                  settings=settings).timeout_s)

    def test_tenant_downtime_lowered_to_operator_maximum(self):
        settings = dataclasses.replace(STX_TEST_SETTINGS,
                                       tenant_downtime_max=300)
        result = _plan(image={IMAGE_DOWNTIME: '2000'}, settings=settings)
        self.assertEqual(300, result.max_downtime_ms)
        self.assertIn("got '2000'. Using 300.", result.warnings[0])

    def test_flavor_downtime_not_bounded_by_tenant_limit(self):
        settings = dataclasses.replace(STX_TEST_SETTINGS,
                                       tenant_downtime_max=300)
        self.assertEqual(2000, _plan({FLAVOR_DOWNTIME: '2000'},
                                     settings=settings).max_downtime_ms)


class FlagsPrecedenceTest(base.BaseTestCase):

    def test_flags_unset_follow_host(self):
        result = _plan()
        self.assertEqual((None, None),
                         (result.auto_converge, result.tunnelled))

    def test_flags_instance_beats_flavor(self):
        result = _plan({FLAVOR_AC: 'true', FLAVOR_TUNNEL: 'false'},
                       instance={INSTANCE_AC: 'false',
                                 INSTANCE_TUNNEL: 'True'})
        self.assertEqual((False, True),
                         (result.auto_converge, result.tunnelled))
        self.assertEqual('instance', result.sources['tunnelled'])

    def test_flags_flavor_only(self):
        result = _plan({FLAVOR_AC: 'true'})
        self.assertEqual((True, 'flavor'), (
            result.auto_converge, result.sources['auto_converge']))


class RampTest(base.BaseTestCase):

    def test_starlingx_ramp_180s_500ms(self):
        result = mp.plan({FLAVOR_TIMEOUT: '180', FLAVOR_DOWNTIME: '500'},
                         {}, {}, 2.0, mp.Settings())
        self.assertEqual(STARLINGX_180_500, result.steps)

    def test_starlingx_ramp_timeout_zero_follows_nova_delay(self):
        # NOTE(nova-stx): StarlingX divided the 0 timeout and applied the
        # maximum at once; without a timeout to scale by, nova-stx spaces
        # the steps by [libvirt] live_migration_downtime_delay per GiB.
        result = _plan({FLAVOR_TIMEOUT: '0'})
        self.assertEqual([150 * i for i in range(11)],
                         [s for s, _ in result.steps])
        self.assertEqual(40, result.downtime_at(0.5))
        self.assertEqual(400, result.downtime_at(1501))

    def test_starlingx_ramp_delay_bounds_the_spacing(self):
        settings = mp.Settings(downtime_delay_s=3, downtime_ms=500)
        result = mp.plan({FLAVOR_TIMEOUT: '600'}, {}, {}, 2.0, settings)
        # 2/3 of 600 s over 10 steps is 40 s; 3 s/GiB x 2 GiB is shorter.
        self.assertEqual((6, 95), result.steps[1])
        self.assertEqual((60, 500), result.steps[-1])

    def test_exponential_ramp_seed_table(self):
        settings = mp.Settings(downtime_ms=400, downtime_steps=10,
                               downtime_delay_s=30, ramp='exponential')
        result = mp.plan({}, {}, {}, 3.0, settings)
        self.assertEqual(EXPONENTIAL_SEED, result.steps)

    def test_nova_ramp_matches_upstream_docstring(self):
        # Nova's downtime_steps docstring: 10 steps, 30 s, 3 GB, 400 ms.
        settings = mp.Settings(downtime_ms=400, downtime_delay_s=30,
                               ramp='nova')
        result = mp.plan({}, {}, {}, 3.0, settings)
        self.assertEqual(
            ((0, 40), (90, 76), (180, 112), (270, 148), (360, 184),
             (450, 220), (540, 256), (630, 292), (720, 328), (810, 364),
             (900, 400)), result.steps)

    def test_nova_ramp_uses_per_instance_maximum(self):
        settings = mp.Settings(ramp='nova')
        result = mp.plan({FLAVOR_DOWNTIME: '1000'}, {}, {}, 4.0, settings)
        self.assertEqual(((0, 100), (300, 190)), result.steps[:2])
        self.assertEqual((3000, 1000), result.steps[-1])

    def test_ramps_never_exceed_max_and_never_decrease(self):
        for ramp in downtime_ramp.RAMPS:
            for max_ms in (100, 500, 4000):
                settings = mp.Settings(ramp=ramp, timeout_s=300)
                steps = mp.plan({FLAVOR_DOWNTIME: str(max_ms)}, {}, {}, 2.5,
                                settings).steps
                values = [ms for _, ms in steps]
                self.assertEqual(sorted(values), values, ramp)
                self.assertEqual(max_ms, values[-1], ramp)

    def test_first_step_does_not_depend_on_data_size(self):
        for ramp in downtime_ramp.RAMPS:
            settings = mp.Settings(ramp=ramp)
            small = mp.plan({}, {}, {}, 2.0, settings)
            large = mp.plan({}, {}, {}, 64.0, settings)
            self.assertEqual(small.steps[0], large.steps[0], ramp)


class PlanTest(base.BaseTestCase):

    def test_downtime_at_follows_nova_strict_comparison(self):
        result = mp.plan({FLAVOR_TIMEOUT: '180'}, {}, {}, 2.0, mp.Settings())
        self.assertIsNone(result.downtime_at(0))
        self.assertEqual(50, result.downtime_at(0.5))
        self.assertEqual(50, result.downtime_at(12))
        self.assertEqual(95, result.downtime_at(12.5))
        self.assertEqual(500, result.downtime_at(10000))

    def test_timed_out_is_strictly_after_timeout(self):
        result = _plan({FLAVOR_TIMEOUT: '180'})
        self.assertFalse(result.timed_out(180))
        self.assertTrue(result.timed_out(180.5))
        self.assertFalse(_plan({FLAVOR_TIMEOUT: '0'}).timed_out(10 ** 6))

    def test_timeout_action_defaults_to_nova_option(self):
        settings = mp.Settings(nova_timeout_action='force_complete')
        self.assertEqual('force_complete',
                         _plan(settings=settings).timeout_action)
        settings = dataclasses.replace(settings, timeout_action='abort')
        self.assertEqual('abort', _plan(settings=settings).timeout_action)

    def test_to_dict_is_plain_data(self):
        data = _plan({FLAVOR_TIMEOUT: '180'}).to_dict()
        self.assertEqual(180, data['timeout_s'])
        self.assertEqual([0, 40], data['steps'][0])
        self.assertEqual('flavor', data['sources']['timeout_s'])

    def test_data_gb_follows_nova(self):
        self.assertEqual(2.0, mp.data_gb(512))
        self.assertEqual(4.0, mp.data_gb(4096))
        self.assertEqual(4.0 + 2.0 + 10.0, mp.data_gb(4096, (0.5, 10.0)))

    def test_strip_image_prefix(self):
        self.assertEqual({IMAGE_TIMEOUT: '200', 'hw_disk_bus': 'virtio'},
                         mp.strip_image_prefix({
                             'image_' + IMAGE_TIMEOUT: '200',
                             'image_hw_disk_bus': 'virtio',
                             'owner_user_name': 'demo'}))


class SettingsFromConfTest(base.BaseTestCase):

    def test_settings_from_conf_reads_both_groups(self):
        fixture = self.useFixture(config_fixture.Config(cfg.ConfigOpts()))
        nova_libvirt_conf.register_opts(fixture.conf)
        stx_conf.register_opts(fixture.conf)
        fixture.config(live_migration_downtime=300,
                       live_migration_completion_timeout=150,
                       group='libvirt')
        fixture.config(live_migration_timeout=180,
                       live_migration_downtime_ramp='nova',
                       tenant_live_migration_max_downtime_max=1000,
                       group='nova_stx')
        settings = mp.Settings.from_conf(fixture.conf)
        self.assertEqual((300, 150, 180, 'nova', 1000, None, 'abort'), (
            settings.downtime_ms, settings.completion_timeout_per_gib,
            settings.timeout_s, settings.ramp, settings.tenant_downtime_max,
            settings.timeout_action, settings.nova_timeout_action))


class QemuBoundsTest(base.BaseTestCase):
    """Every downtime the plan holds is one QEMU accepts (issue 10, 2)."""

    def test_image_downtime_far_above_qemu_is_clamped_with_warning(self):
        result = _plan(image={IMAGE_DOWNTIME: '1' + '0' * 23})
        self.assertEqual((mp.QEMU_MAX_DOWNTIME_MS, 'image'), (
            result.max_downtime_ms, result.sources['max_downtime_ms']))
        self.assertEqual(mp.QEMU_MAX_DOWNTIME_MS, result.steps[-1][1])
        self.assertEqual(
            [f"{IMAGE_DOWNTIME} must be in the range 100 to 2000000; got "
             f"'1{'0' * 23}'. Using 2000000."], list(result.warnings))

    def test_downtime_beyond_int_conversion_limit_is_clamped(self):
        result = _plan(instance={INSTANCE_DOWNTIME: '9' * 5000})
        self.assertEqual(mp.QEMU_MAX_DOWNTIME_MS, result.max_downtime_ms)
        self.assertIn(INSTANCE_DOWNTIME, result.warnings[0])

    def test_downtime_of_309_digits_makes_a_ramp(self):
        for ramp in downtime_ramp.RAMPS:
            settings = mp.Settings(ramp=ramp)
            result = mp.plan({FLAVOR_DOWNTIME: '7' * 309}, {}, {}, 2.0,
                             settings)
            self.assertEqual(mp.QEMU_MAX_DOWNTIME_MS, result.steps[-1][1])

    def test_tenant_bound_applies_after_the_qemu_clamp(self):
        settings = dataclasses.replace(STX_TEST_SETTINGS,
                                       tenant_downtime_max=300)
        result = _plan(image={IMAGE_DOWNTIME: '9' * 30}, settings=settings)
        self.assertEqual(300, result.max_downtime_ms)

    def test_config_downtime_above_qemu_is_clamped_with_warning(self):
        settings = mp.Settings(downtime_ms=10 ** 10)
        result = mp.plan({}, {}, {}, 2.0, settings)
        self.assertEqual(mp.QEMU_MAX_DOWNTIME_MS, result.max_downtime_ms)
        self.assertIn('[libvirt] live_migration_downtime',
                      result.warnings[0])

    def test_timeout_beyond_int_conversion_limit_is_clamped(self):
        result = _plan({FLAVOR_TIMEOUT: '9' * 5000})
        self.assertEqual(800, result.timeout_s)
        result = _plan({FLAVOR_TIMEOUT: '0' * 5000})
        self.assertEqual(0, result.timeout_s)

    def test_bad_data_size_is_a_clear_error(self):
        for gib in (float('inf'), float('nan'), -1.0, '2'):
            exc = self.assertRaises(ValueError, _plan, gib=gib)
            self.assertIn('guest data size', str(exc))


class SupervisionTest(base.BaseTestCase):
    """Which migrations nova-stx steers (``MigrationPlan.supervised``)."""

    def test_no_key_and_nova_controller_is_not_supervised(self):
        result = mp.plan({}, {}, {}, 2.0, mp.Settings())
        self.assertFalse(result.supervised)
        self.assertFalse(result.limits_keyed)

    def test_ignored_key_is_not_supervised(self):
        result = _plan(image={IMAGE_DOWNTIME: 'short'},
                       settings=mp.Settings())
        self.assertFalse(result.supervised)
        self.assertEqual(1, len(result.warnings))

    def test_limit_key_is_supervised(self):
        for specs in ({FLAVOR_TIMEOUT: '300'}, {FLAVOR_DOWNTIME: '300'}):
            self.assertTrue(_plan(specs).supervised, specs)

    def test_flag_key_alone_is_not_supervised(self):
        result = _plan({FLAVOR_AC: 'true'}, settings=mp.Settings())
        self.assertFalse(result.supervised)
        self.assertTrue(result.flags_keyed)

    def test_nova_stx_timeout_options_supervise_without_keys(self):
        # The operator's opt-in: set, they apply under the nova
        # controller too, as their help says.
        for settings in (STX_TEST_SETTINGS, mp.Settings(timeout_s=0),
                         mp.Settings(timeout_action=mp.ABORT)):
            result = _plan(settings=settings)
            self.assertTrue(result.configured and result.supervised)
            self.assertFalse(result.limits_keyed)

    def test_opt_in_controller_supervises_without_keys(self):
        settings = mp.Settings(controller=mp.STARLINGX)
        result = mp.plan({}, {}, {}, 2.0, settings)
        self.assertTrue(result.supervised)
        self.assertEqual('starlingx', result.to_dict()['controller'])
