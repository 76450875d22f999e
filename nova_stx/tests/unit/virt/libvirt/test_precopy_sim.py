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

"""The pre-copy simulator against the model it states."""

import math

from oslotest import base

from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import precopy_sim as sim

GIB = sim.GIB


class Fixed:
    """A controller holding one downtime, recording what it saw."""

    def __init__(self, ms, actions=()):
        self.initial_downtime_ms = ms
        self.samples = []
        self.actions = dict(actions)

    def next_poll_s(self, elapsed_s):
        return elapsed_s

    def observe(self, sample):
        self.samples.append(sample)
        return self.actions.pop(sample.elapsed_s, ())


def _work(**kw):
    args = dict(ram_bytes=4 * GIB, hot_bytes=GIB // 4, dirty_bps=0.0,
                link_bps=1e9, jitter=0.0, overhead_ms=10.0, seed=1)
    args.update(kw)
    return sim.Workload(**args)


class SimulatorTest(base.BaseTestCase):

    def test_idle_guest_takes_ram_over_bandwidth(self):
        result = sim.run(_work(), Fixed(300))
        self.assertEqual(sim.COMPLETED, result.outcome)
        self.assertAlmostEqual(sim.SETUP_S + 4 * GIB / 1e9,
                               result.elapsed_s, delta=0.2)
        self.assertAlmostEqual(4 * GIB, result.data_bytes, delta=0.3e9)

    def test_geometric_dirtying_converges(self):
        # A hot set far larger than what a pass dirties: R shrinks by
        # D/B = 0.3 each pass until it fits 300 ms at 1 GB/s.
        result = sim.run(_work(hot_bytes=4 * GIB, dirty_bps=0.3e9),
                         Fixed(300))
        self.assertTrue(result.completed)
        self.assertLessEqual(result.downtime_ms, 310)
        self.assertGreaterEqual(result.passes, 3)

    def test_hot_set_above_threshold_never_converges(self):
        control = Fixed(100)
        result = sim.run(_work(hot_bytes=GIB, dirty_bps=2e9), control,
                         horizon_s=3600)
        self.assertEqual(sim.RUNNING, result.outcome)
        self.assertGreater(result.passes, 100)
        # QEMU's expected downtime x its bandwidth is the last sync's R.
        later = [s for s in control.samples if s.iteration > 3]
        synced = {round(s.expected_downtime_ms * s.memory_bps / 1000.0)
                  for s in later[-5:]}
        self.assertEqual(1, len(synced))
        self.assertLessEqual(synced.pop(), GIB)

    def test_abort_and_post_copy_and_pause(self):
        hopeless = _work(hot_bytes=GIB, dirty_bps=2e9, post_copy=True)
        result = sim.run(hopeless, Fixed(100, {10.0: (decisions.Decision(
            decisions.ABORT, decisions.HOPELESS, 'test'),)}))
        self.assertEqual((sim.ABORTED, 10.0), (result.outcome,
                                               result.elapsed_s))
        result = sim.run(hopeless, Fixed(100, {10.0: (decisions.Decision(
            decisions.POST_COPY, decisions.HOPELESS, 'test'),)}))
        self.assertEqual((sim.POST_COPY, 10.0), (result.outcome,
                                                 result.downtime_ms))
        unarmed = _work(hot_bytes=GIB, dirty_bps=2e9)
        result = sim.run(unarmed, Fixed(100, {10.0: (decisions.Decision(
            decisions.FORCE_COMPLETE, decisions.TIMEOUT, 'test'),)}))
        self.assertEqual(sim.PAUSED, result.outcome)
        self.assertGreater(result.downtime_ms, 500)

    def test_auto_converge_throttles_in_steps(self):
        control = Fixed(100)
        result = sim.run(_work(hot_bytes=GIB, dirty_bps=2e9,
                               auto_converge=True), control)
        self.assertTrue(result.completed)
        throttles = sorted({s.throttle_pct for s in control.samples})
        self.assertEqual([0, 20, 30], throttles[:3])

    def test_seeded_runs_repeat(self):
        work = _work(hot_bytes=GIB, dirty_bps=1.2e9, jitter=0.05, seed=7)
        one = sim.run(work, Fixed(250), horizon_s=600)
        two = sim.run(work, Fixed(250), horizon_s=600)
        self.assertEqual((one.outcome, one.elapsed_s, one.passes),
                         (two.outcome, two.elapsed_s, two.passes))
        self.assertFalse(math.isnan(one.elapsed_s))

    def test_controller_with_nothing_left_to_decide(self):
        """next_poll_s may answer math.inf: run to the end or horizon."""

        class Idle(Fixed):
            def next_poll_s(self, elapsed_s):
                return math.inf

        control = Idle(100)
        result = sim.run(_work(hot_bytes=GIB, dirty_bps=2e9), control,
                         horizon_s=3600)
        self.assertEqual((sim.RUNNING, 3600), (result.outcome,
                                               result.elapsed_s))
        self.assertEqual([], control.samples)
        result = sim.run(_work(), Idle(300))
        self.assertEqual(sim.COMPLETED, result.outcome)
        self.assertAlmostEqual(sim.SETUP_S + 4 * GIB / 1e9,
                               result.elapsed_s, delta=0.2)
