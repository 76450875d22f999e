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

"""The ``sla`` controller, with numbers and with simulated migrations."""

import dataclasses
import os

import hypothesis
from hypothesis import strategies as st
from oslotest import base

from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import job_stats
from nova_stx.virt.libvirt import migration_policy
from nova_stx.virt.libvirt import precopy_sim as sim
from nova_stx.virt.libvirt import sla_controller

GIB = sim.GIB
TEN_GBE = 1.25e9
_EXAMPLES = 100 * (10 if os.environ.get('HYPOTHESIS_PROFILE') ==
                   'thorough' else 1)


def _steering(result):
    """The decisions after the first poll's initial downtime."""
    return [d for _, d in result.decisions if d.cause != decisions.INITIAL]


def _limits(max_ms=500, timeout_s=600, action='abort', post_copy=False,
            auto_converge=False, initial=50):
    return decisions.Limits(max_ms, timeout_s, action, post_copy,
                            auto_converge, initial)


def _workload(ram_gib=8, hot_gib=1.0, dirty=0.5, link=TEN_GBE, **kw):
    return sim.Workload(ram_bytes=int(ram_gib * GIB),
                        hot_bytes=int(hot_gib * GIB),
                        dirty_bps=dirty * link, link_bps=link, **kw)


def _sample(elapsed, iteration, remaining, processed, synced=None,
            bps=TEN_GBE, total=8 * GIB, **kw):
    """A poll: ``synced`` bytes at the last sync, read by QEMU's product."""
    expected = 0.0 if synced is None else synced / bps * 1000.0
    return job_stats.JobSample(
        elapsed_s=elapsed, memory_total=total, memory_processed=processed,
        memory_remaining=remaining, memory_bps=bps,
        dirty_bps=1e6 if synced else 0.0, iteration=iteration,
        expected_downtime_ms=expected, **kw)


class JumpTest(base.BaseTestCase):

    def test_jump_to_what_the_next_sync_needs_in_one_step(self):
        controller = sla_controller.SlaController(_limits(max_ms=800))
        first, = controller.observe(_sample(6.5, 1, 0.5 * GIB, 8 * 10 ** 9))
        self.assertEqual((decisions.INITIAL, 50),
                         (first.cause, first.downtime_ms))
        # Bulk done: 0.5 GB dirtied meanwhile, read from QEMU's product;
        # 0.625 GB sent in 0.5 s.
        found = controller.observe(_sample(7.0, 2, int(0.4e9),
                                           8 * 10 ** 9 + 625 * 10 ** 6,
                                           synced=0.5e9))
        self.assertEqual(1, len(found))
        decision = found[0]
        self.assertEqual((decisions.SET_DOWNTIME, decisions.CONVERGING),
                         (decision.action, decision.cause))
        # 0.5 GB at 1.25 GB/s is 400 ms, plus 3 x the jitter (a 5 %
        # prior, lowered by two exact bandwidth readings).
        jitter = controller.estimator.jitter
        self.assertAlmostEqual(0.0423, jitter, places=4)
        self.assertEqual(451, decision.downtime_ms)
        self.assertIn('451 ms', decision.reason)
        self.assertEqual(0.5e9, decision.numbers['pending_bytes'])
        self.assertGreater(decision.numbers['predicted_end_s'], 7.0)
        self.assertEqual('complete', controller.predictions[-1]['outcome'])

    def test_no_jump_above_the_max_downtime(self):
        controller = sla_controller.SlaController(_limits(max_ms=500))
        controller.observe(_sample(6.5, 1, 0.5 * GIB, int(7.5 * GIB)))
        # 0.8 GB needs 640 ms: no jump; nothing above 500 ms, ever.
        self.assertEqual((), controller.observe(
            _sample(7.0, 2, int(0.7e9), int(8 * GIB), synced=0.8e9)))

    def test_idle_guest_keeps_its_short_downtime(self):
        result = sim.run(_workload(hot_gib=0.05, dirty=0.01),
                         sla_controller.SlaController(_limits()))
        self.assertTrue(result.completed)
        self.assertEqual([], _steering(result))
        self.assertLess(result.downtime_ms, 100)


class SimulatedOutcomeTest(base.BaseTestCase):
    """The controller driving the simulated QEMU of ``precopy_sim``."""

    def test_needs_more_downtime_completes_in_seconds(self):
        # A 0.4 s hot set, rewritten faster than the link: Nova's ramp
        # waits for its sixth step; the controller jumps once.
        work = _workload(hot_gib=0.45, dirty=2.0, seed=3)
        result = sim.run(work, sla_controller.SlaController(
            _limits(max_ms=800)))
        self.assertTrue(result.completed)
        self.assertLess(result.elapsed_s, 15)
        self.assertLessEqual(result.downtime_ms, 800)
        self.assertEqual([decisions.SET_DOWNTIME],
                         [d.action for d in _steering(result)])

    def test_hopeless_is_aborted_early_with_the_savings(self):
        work = _workload(ram_gib=16, hot_gib=4, dirty=2.0, seed=4)
        controller = sla_controller.SlaController(_limits(timeout_s=800))
        result = sim.run(work, controller)
        self.assertEqual(sim.ABORTED, result.outcome)
        self.assertLess(result.elapsed_s, 60)
        elapsed, abort = result.decisions[-1]
        self.assertEqual((decisions.ABORT, decisions.HOPELESS),
                         (abort.action, abort.cause))
        self.assertIn('Stalled', abort.reason)
        self.assertAlmostEqual(800 - elapsed, abort.numbers['time_saved_s'],
                               places=2)
        self.assertGreater(abort.numbers['best_pause_ms'], 500)
        # The probe before it stayed within the max downtime.
        self.assertTrue(all(d.downtime_ms <= 500 for _, d in
                            result.decisions[:-1]))

    def test_hopeless_switches_to_post_copy_when_forced_and_armed(self):
        work = _workload(ram_gib=16, hot_gib=4, dirty=2.0, post_copy=True,
                         seed=4)
        result = sim.run(work, sla_controller.SlaController(_limits(
            action=migration_policy.FORCE_COMPLETE, post_copy=True)))
        self.assertEqual(sim.POST_COPY, result.outcome)
        self.assertEqual(decisions.POST_COPY,
                         result.decisions[-1][1].action)
        self.assertLess(result.decisions[-1][0], 60)

    def test_hopeless_forced_without_post_copy_waits_for_timeout(self):
        # Pausing the guest breaks the max downtime: only the timeout may.
        work = _workload(ram_gib=16, hot_gib=4, dirty=2.0, seed=4)
        result = sim.run(work, sla_controller.SlaController(_limits(
            timeout_s=300, action=migration_policy.FORCE_COMPLETE)))
        self.assertEqual(sim.PAUSED, result.outcome)
        elapsed, last = result.decisions[-1]
        self.assertEqual((decisions.FORCE_COMPLETE, decisions.TIMEOUT),
                         (last.action, last.cause))
        self.assertGreater(elapsed, 300)

    def test_auto_converge_stall_waits_for_the_throttle(self):
        work = _workload(ram_gib=16, hot_gib=4, dirty=2.0,
                         auto_converge=True, seed=4)
        result = sim.run(work, sla_controller.SlaController(
            _limits(auto_converge=True)))
        self.assertTrue(result.completed)
        self.assertNotIn(decisions.ABORT,
                         [d.action for _, d in result.decisions])

    def test_floor_that_fits_only_above_the_cap_is_not_risked(self):
        # Seed 1's case 623 of benchmarks/migration_sim_bench.py: the
        # dirty pages converge only at about 850 ms or more, above the
        # cap, where the pause at a 6 % jitter breaks the max. The
        # controller stays at its cap (below 800 ms; the timeout ends
        # it); a fixed 900 ms target, which completes it, breaks the SLA.
        work = sim.Workload(
            ram_bytes=27111981056, hot_bytes=9153143473,
            dirty_bps=4169531616.3, link_bps=2937500000.0, jitter=0.0613,
            overhead_ms=22.3, seed=100626)
        controller = sla_controller.SlaController(_limits(
            max_ms=1000, timeout_s=180, initial=100))
        result = sim.run(work, controller)
        self.assertEqual(sim.ABORTED, result.outcome)
        self.assertLess(max(d.downtime_ms for d in _steering(result)
                            if d.downtime_ms), 800)

        class Fixed:
            initial_downtime_ms = 900

            def next_poll_s(self, elapsed_s):
                return elapsed_s

            def observe(self, sample):
                return ()

        downtimes = [sim.run(dataclasses.replace(work, seed=seed),
                             Fixed()).downtime_ms for seed in range(20)]
        self.assertTrue(all(downtimes))
        self.assertGreater(max(downtimes), 1000)

    def _two_dirty_passes(self, timeout_s):
        """32 GiB at 10 GbE: 24 GB dirtied in the bulk copy, then 23.5 GB
        in a 19.2 s pass, QEMU's dirty rate over it 1.2 GB/s."""
        ram, bandwidth = 32 * GIB, TEN_GBE
        first, second, rate = 24e9, 23.5e9, 1.2e9
        sync2 = ram / bandwidth
        sync3 = sync2 + first / bandwidth
        controller = sla_controller.SlaController(_limits(
            timeout_s=timeout_s))
        made = []
        for poll in range(1, int(sync3 * 2) + 6):
            now = poll / 2.0
            if now < sync2:
                iteration, start, size, dirty, done = 1, 0.0, ram, 0.0, 0
            elif now < sync3:
                iteration, start, size, dirty, done = (
                    2, sync2, first, first / sync2, ram)
            else:
                iteration, start, size, dirty, done = (
                    3, sync3, second, rate, ram + first)
            sent = bandwidth * (now - start)
            made += controller.observe(job_stats.JobSample(
                elapsed_s=now, memory_total=ram,
                memory_processed=int(done + sent),
                memory_remaining=int(size - sent), memory_bps=bandwidth,
                dirty_bps=dirty, iteration=iteration,
                expected_downtime_ms=(size / bandwidth * 1000.0
                                      if iteration > 1 else 0.0)))
        return [d for d in made if d.cause != decisions.INITIAL]

    def test_too_slow_at_any_downtime_is_ended_at_the_second_dirty_set(self):
        # The bandwidth is 1.25 GB/s with a 2 % jitter: one window may
        # be 1.325 GB/s (the 500 ms threshold: 0.6625 GB), a pass's mean
        # 1.275 GB/s. At 1.2 GB/s dirtied each pass leaves at least 0.941
        # x its bytes above the threshold: 23.5 GB needs passes of at
        # least 142.7 s in all from 46.7 s, fitting at 189.4 s at the
        # soonest, so a 60 s, 120 s or 185 s timeout cannot be met,
        # whatever downtime up to the max is tried (the bound is counted
        # until it passes the timeout).
        fits = ((60, 64.55), (120, 121.36), (185, 185.67))
        for timeout_s, fit_s in fits:
            found = self._two_dirty_passes(timeout_s)
            self.assertEqual([(decisions.ABORT, decisions.HOPELESS)],
                             [(d.action, d.cause) for d in found])
            numbers = found[0].numbers
            self.assertEqual(47.0, numbers['elapsed_s'])
            self.assertEqual(3, numbers['iteration'])
            self.assertAlmostEqual(fit_s, numbers['earliest_fit_s'],
                                   places=1)
            self.assertEqual(1.2e9, numbers['dirty_rate_bps'])
            self.assertAlmostEqual(19.2, numbers['pass_s'], places=3)
            self.assertIn('Too slow at any downtime', found[0].reason)
            self.assertIn(f'before {fit_s:.0f} s', found[0].reason)

    def test_soonest_fit_within_the_timeout_keeps_waiting(self):
        # The same passes fit at 189.4 s at the soonest.
        self.assertEqual([], self._two_dirty_passes(195))

    def test_timeout_aborts(self):
        controller = sla_controller.SlaController(_limits(timeout_s=120))
        controller.observe(_sample(60, 1, GIB, GIB))
        found = controller.observe(_sample(120.5, 1, GIB, 2 * GIB))
        self.assertEqual([(decisions.ABORT, decisions.TIMEOUT)],
                         [(d.action, d.cause) for d in found])
        self.assertEqual((), controller.observe(_sample(121, 1, 1, 1)))

    def test_post_copy_running_is_left_alone(self):
        controller = sla_controller.SlaController(_limits(timeout_s=120))
        self.assertEqual((), controller.observe(
            _sample(500, 3, GIB, GIB, post_copy=True)))


class PropertiesTest(base.BaseTestCase):

    @hypothesis.settings(max_examples=_EXAMPLES, deadline=None,
                         database=None, derandomize=True,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(
        ram=st.floats(0.25, 64), hot=st.floats(0.001, 0.6),
        dirty=st.floats(0, 2.5), link=st.sampled_from([0.1e9, 1.2e9, 3e9]),
        jitter=st.floats(0, 0.1), max_ms=st.integers(100, 2000000),
        timeout=st.sampled_from([0, 120, 300, 800, 5000]),
        action=st.sampled_from(['abort', 'force_complete']),
        post_copy=st.booleans(), auto_converge=st.booleans(),
        seed=st.integers(0, 10 ** 6))
    def test_decisions_stay_within_the_sla_and_qemu(
            self, ram, hot, dirty, link, jitter, max_ms, timeout, action,
            post_copy, auto_converge, seed):
        work = sim.Workload(int(ram * GIB), int(hot * ram * GIB),
                            dirty * link, link, jitter=jitter,
                            post_copy=post_copy, auto_converge=auto_converge,
                            seed=seed)
        controller = sla_controller.SlaController(_limits(
            max_ms, timeout, action, post_copy, auto_converge,
            initial=max_ms // 10))
        result = sim.run(work, controller,
                         horizon_s=(timeout or 3600) * 2)
        for _, decision in result.decisions:
            self.assertIn(decision.action, decisions.ACTIONS)
            self.assertTrue(decision.reason)
            if decision.action == decisions.SET_DOWNTIME:
                self.assertLessEqual(decision.downtime_ms, max_ms)
                self.assertLessEqual(decision.downtime_ms,
                                     migration_policy.QEMU_MAX_DOWNTIME_MS)
                self.assertGreater(decision.downtime_ms, 0)
            if decision.action == decisions.POST_COPY:
                self.assertTrue(post_copy)
                self.assertEqual('force_complete', action)
        ends = [d for _, d in result.decisions
                if d.action != decisions.SET_DOWNTIME]
        self.assertLessEqual(len(ends), 1)
