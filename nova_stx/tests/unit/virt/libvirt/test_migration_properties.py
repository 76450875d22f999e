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

"""Property tests: ``plan()`` and the ramps never hand libvirt a bad value.

Invariant: a valid result inside what libvirt and QEMU accept, or a clear
``ValueError``; never any other exception. Values come from every source
a tenant or operator controls (strings as Nova and Glance keep them,
including integers of hundreds or thousands of digits).

``HYPOTHESIS_PROFILE=thorough`` runs ten times the examples.
"""

import math
import os

import hypothesis
from hypothesis import strategies as st
from oslotest import base

from nova_stx import keys
from nova_stx.virt.libvirt import downtime_ramp
from nova_stx.virt.libvirt import migration_policy as mp

_EXAMPLES = 300 * (10 if os.environ.get('HYPOTHESIS_PROFILE') ==
                   'thorough' else 1)
_SETTINGS = hypothesis.settings(
    max_examples=_EXAMPLES, deadline=None, database=None, derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck))
#: libvirt's virDomainMigrateSetMaxDowntime takes an unsigned long long.
ULLONG_MAX = 2 ** 64 - 1

_MIGRATION_KEYS = (keys.LIVE_MIGRATION_MAX_DOWNTIME,
                   keys.LIVE_MIGRATION_TIMEOUT,
                   keys.LIVE_MIGRATION_AUTO_CONVERGE,
                   keys.LIVE_MIGRATION_TUNNEL)

_integers = st.one_of(
    st.integers(-10 ** 6, 10 ** 7).map(str),
    st.integers(0, 3).flatmap(
        lambda zeros: st.integers(1, 5000).map(
            lambda n: '0' * zeros + '9' * n)),
    st.integers(1, 5000).map(lambda n: '0' * n),
    st.sampled_from(['1' + '0' * 23, '7' * 309, '+300', ' 300', '300 ',
                     '1e3', '0x10', '-0', '١٢٣']))
_values = st.one_of(_integers, st.text(max_size=12),
                    st.sampled_from(['true', 'False', 'yes', '']))


def _props(source):
    names = [k.name_in(source) for k in _MIGRATION_KEYS if k.name_in(source)]
    return st.dictionaries(st.sampled_from(names), _values, max_size=4)


_settings = st.builds(
    mp.Settings,
    downtime_ms=st.one_of(st.integers(100, 10 ** 4),
                          st.integers(100, 10 ** 30)),
    downtime_steps=st.integers(3, 60),
    downtime_delay_s=st.integers(3, 10 ** 6),
    completion_timeout_per_gib=st.integers(0, 10 ** 6),
    timeout_s=st.one_of(st.none(), st.integers(0, 10 ** 7)),
    ramp=st.sampled_from(downtime_ramp.RAMPS),
    controller=st.sampled_from(mp.CONTROLLERS),
    tenant_timeout_min=st.integers(120, 800),
    tenant_timeout_max=st.integers(120, 800),
    tenant_timeout_allow_disable=st.booleans(),
    tenant_downtime_max=st.one_of(st.none(), st.integers(100, 2000000)))

_gib = st.one_of(st.floats(0, 10 ** 5, allow_nan=False),
                 st.sampled_from([float('inf'), float('nan'), -1.0]))


def _assert_ramp(test, steps, max_ms):
    values = [ms for _, ms in steps]
    times = [s for s, _ in steps]
    test.assertEqual(max_ms, values[-1])
    test.assertEqual(sorted(values), values)
    test.assertEqual(sorted(times), times)
    test.assertTrue(all(0 <= v <= max_ms for v in values))
    test.assertTrue(all(isinstance(v, int) for v in values + times))


class PlanPropertiesTest(base.BaseTestCase):

    @_SETTINGS
    @hypothesis.given(_props(keys.Source.FLAVOR), _props(keys.Source.IMAGE),
                      _props(keys.Source.INSTANCE), _gib, _settings)
    def test_plan_is_within_qemu_bounds_or_a_clear_error(
            self, flavor, image, instance, gib, settings):
        try:
            plan = mp.plan(flavor, image, instance, gib, settings)
        except ValueError as exc:
            self.assertFalse(math.isfinite(gib) and gib >= 0, exc)
            self.assertIn('guest data size', str(exc))
            return
        self.assertTrue(100 <= plan.max_downtime_ms <=
                        mp.QEMU_MAX_DOWNTIME_MS <= ULLONG_MAX)
        _assert_ramp(self, plan.steps, plan.max_downtime_ms)
        self.assertGreaterEqual(plan.timeout_s, 0)
        if plan.sources['timeout_s'] != 'config':
            self.assertLessEqual(plan.timeout_s, keys.LIVE_MIGRATION_TIMEOUT
                                 .maximum)
        for warning in plan.warnings:
            self.assertTrue(warning.startswith(('hw:', 'hw_', '[libvirt]')),
                            warning)
            self.assertTrue(warning.endswith(('Ignored.', '.')), warning)
        self.assertEqual(plan.supervised,
                         settings.controller != mp.NOVA or plan.limits_keyed
                         or settings.timeout_s is not None
                         or settings.timeout_action is not None)


class RampPropertiesTest(base.BaseTestCase):

    @_SETTINGS
    @hypothesis.given(
        st.sampled_from(downtime_ramp.RAMPS),
        st.one_of(st.integers(0, 10 ** 7), st.integers(0, 10 ** 420)),
        st.integers(0, 10 ** 9), st.integers(1, 60),
        st.floats(0, 10 ** 6, allow_nan=False),
        st.floats(0, 10 ** 5, allow_nan=False))
    def test_ramp_ends_exactly_at_max_and_never_exceeds(
            self, ramp, max_ms, timeout_s, count, delay_s, gib):
        steps = downtime_ramp.steps(ramp, max_ms, timeout_s, count, delay_s,
                                    gib)
        self.assertEqual(count + 1, len(steps))
        _assert_ramp(self, steps, max_ms)

    @_SETTINGS
    @hypothesis.given(
        st.sampled_from(downtime_ramp.RAMPS),
        st.one_of(st.integers(), st.floats(), st.none(), st.text()),
        st.one_of(st.integers(-5, 5), st.floats(), st.none()),
        st.one_of(st.floats(), st.integers()))
    def test_ramp_bad_input_is_a_clear_error(self, ramp, max_ms, count,
                                             delay_s):
        try:
            steps = downtime_ramp.steps(ramp, max_ms, 180, count, delay_s,
                                        2.0)
        except ValueError as exc:
            self.assertIn('ramp', str(exc))
            return
        _assert_ramp(self, steps, max_ms)
