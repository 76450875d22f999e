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

"""The downtime ramps, with plain numbers."""
from oslotest import base


from nova_stx.virt.libvirt import downtime_ramp


class RampFunctionsTest(base.BaseTestCase):

    def test_starlingx_ramp_1350s_400ms(self):
        self.assertEqual(
            ((0, 40), (90, 76), (180, 112), (270, 148), (360, 184),
             (450, 220), (540, 256), (630, 292), (720, 328), (810, 364),
             (900, 400)), downtime_ramp.starlingx_steps(400, 1350, 10))

    def test_exponential_ramp_ends_at_max(self):
        for max_ms in (100, 333, 500, 1234):
            last = downtime_ramp.exponential_steps(max_ms, 7, 30, 2)[-1]
            self.assertEqual(max_ms, last[1])

    def test_starlingx_delay_and_values_are_truncated(self):
        # delay int(30 * 2/3 / 3) = 6 s; 100/3 + i * (100 - 100/3) / 3 ms.
        self.assertEqual(((0, 33), (6, 55), (12, 77), (18, 100)),
                         downtime_ramp.starlingx_steps(100, 30, 3))

    def test_steps_dispatch_by_name(self):
        self.assertEqual(downtime_ramp.nova_steps(400, 10, 30, 3),
                         downtime_ramp.steps('nova', 400, 0, 10, 30, 3))
        self.assertEqual(
            downtime_ramp.exponential_steps(400, 10, 30, 3),
            downtime_ramp.steps('exponential', 400, 0, 10, 30, 3))
        self.assertEqual(downtime_ramp.starlingx_steps(400, 180, 10),
                         downtime_ramp.steps('starlingx', 400, 180, 10, 30,
                                             3))


class RampArithmeticTest(base.BaseTestCase):
    """Ramps end exactly at the maximum at any magnitude (issue 10, 7)."""

    def test_linear_ends_exactly_at_103(self):
        # Floating point used to end this ramp at 102 ms.
        self.assertEqual((50, 103), downtime_ramp.linear_steps(103, 10, 5)[-1])

    def test_no_step_above_a_huge_maximum(self):
        for max_ms in (2 ** 53 + 1, 10 ** 30 + 7, 10 ** 400 + 3):
            for ramp in downtime_ramp.RAMPS:
                values = [ms for _, ms in downtime_ramp.steps(
                    ramp, max_ms, 180, 10, 75, 2.0)]
                self.assertEqual(max_ms, values[-1], ramp)
                self.assertTrue(all(v <= max_ms for v in values), ramp)
                self.assertEqual(sorted(values), values, ramp)

    def test_bad_input_is_a_clear_error(self):
        for args in ((-1, 10, 5), (100, 0, 5), (100, 10, -5),
                     (100.5, 10, 5), (100, 10, float('inf'))):
            exc = self.assertRaises(ValueError, downtime_ramp.linear_steps,
                                    *args)
            self.assertIn('ramp', str(exc))
