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

"""Other projects' convergence policies, re-implemented from their rules.

Benchmark-only controllers with the interface of
:mod:`nova_stx.virt.libvirt.decisions`, written from the published
behaviour (see the team's convergence notes), not from their code:

* :class:`OvirtMinimalDowntime`: oVirt's "Minimal downtime" policy. VDSM
  polls every 10 s; on a poll that sees a new pass it runs at most one
  schedule item whose limit is below the passes counted since its first
  poll: 100 ms at start, 150 @1, 200 @2, 300 @3, 400 @4, 500 @6, then
  abort. Downtimes are scaled by the SLA's max / 500 ms so it works within
  the same SLA; the SLA timeout aborts too.
* :class:`KubevirtStallDetector`: KubeVirt VEP 248's stall detection.
  Polls every 0.4 s; at each new pass it records the bytes remaining; a
  stall is the remaining not 4 % below the minimum of records older than
  40 s; then implied downtime = best remaining / EWMA(bandwidth, 0.5):
  set it if within the max, abort if 1.5 x the max or more, else set the
  max; abort if the switch-over does not come within 60 s. It starts at
  QEMU's 300 ms, capped to the SLA's max.
* :class:`FixedTarget`: one downtime from the start and the timeout; the
  hindsight oracle runs it noiseless.
"""

import collections
import math

from nova_stx.virt.libvirt import decisions

_SCHEDULE = ((1, 150), (2, 200), (3, 300), (4, 400), (6, 500))


def _timeout(limits, sample):
    return decisions.Decision(
        decisions.ABORT, decisions.TIMEOUT,
        f'timeout after {limits.timeout_s} s',
        numbers={'elapsed_s': sample.elapsed_s})


class _Anchor:
    """Polls at its own pace; ends at the SLA timeout; then says nothing."""

    def __init__(self, limits):
        self.limits = limits
        self.done = False

    def next_poll_s(self, elapsed_s):
        return elapsed_s

    def observe(self, sample):
        if self.done:
            return ()
        if self.limits.timed_out(sample.elapsed_s):
            self.done = True
            return (_timeout(self.limits, sample),)
        return self._observe(sample)

    def _observe(self, sample):
        return ()


class OvirtMinimalDowntime(_Anchor):
    poll_s = 10.0
    name = 'ovirt'

    def __init__(self, limits):
        super().__init__(limits)
        self.scale = limits.max_downtime_ms / 500.0
        self.initial_downtime_ms = int(100 * self.scale)
        self.schedule = collections.deque(_SCHEDULE)
        self.first_iteration = None
        self.last_iteration = None

    def _observe(self, sample):
        if self.first_iteration is None:
            self.first_iteration = self.last_iteration = sample.iteration
            return ()
        if sample.iteration <= self.last_iteration:
            return ()
        self.last_iteration = sample.iteration
        passes = sample.iteration - self.first_iteration
        if not self.schedule:
            self.done = True
            return (decisions.Decision(decisions.ABORT, decisions.HOPELESS,
                                       'schedule exhausted'),)
        limit, ms = self.schedule[0]
        if limit < passes:
            self.schedule.popleft()
            return (decisions.Decision(
                decisions.SET_DOWNTIME, decisions.RAMP,
                f'stalling step {limit}', downtime_ms=int(ms * self.scale)),)
        return ()


class KubevirtStallDetector(_Anchor):
    poll_s = 0.4
    name = 'kubevirt'
    WINDOW_S = 40.0
    MARGIN = 0.04
    FACTOR = 1.5
    SWITCHOVER_S = 60.0

    def __init__(self, limits):
        super().__init__(limits)
        self.initial_downtime_ms = min(300, limits.max_downtime_ms)
        self.records = []
        self.iteration = None
        self.bandwidth = None
        self.acted_at = None

    def _observe(self, sample):
        if sample.memory_bps > 0:
            self.bandwidth = (sample.memory_bps if self.bandwidth is None
                              else 0.5 * self.bandwidth +
                              0.5 * sample.memory_bps)
        if self.acted_at is not None:
            if sample.elapsed_s - self.acted_at > self.SWITCHOVER_S:
                self.done = True
                return (decisions.Decision(
                    decisions.ABORT, decisions.HOPELESS,
                    'no switch-over within 60 s'),)
            return ()
        if sample.iteration == self.iteration:
            return ()
        self.iteration = sample.iteration
        now = sample.elapsed_s
        self.records.append((now, sample.memory_remaining))
        old = [r for t, r in self.records if t <= now - self.WINDOW_S]
        if not old or not self.bandwidth:
            return ()
        if sample.memory_remaining < min(old) * (1 - self.MARGIN):
            return ()
        best = min(r for _, r in self.records)
        implied = best / self.bandwidth * 1000.0
        maximum = self.limits.max_downtime_ms
        self.acted_at = now
        if implied >= self.FACTOR * maximum:
            self.done = True
            return (decisions.Decision(decisions.ABORT, decisions.HOPELESS,
                                       f'implied {implied:.0f} ms'),)
        ms = int(min(math.ceil(implied), maximum))
        return (decisions.Decision(decisions.SET_DOWNTIME,
                                   decisions.CONVERGING,
                                   f'implied {implied:.0f} ms',
                                   downtime_ms=max(ms, 1)),)


class FixedTarget(_Anchor):
    poll_s = 0.5
    name = 'fixed'

    def __init__(self, limits, downtime_ms):
        super().__init__(limits)
        self.initial_downtime_ms = max(1, int(downtime_ms))

    def next_poll_s(self, elapsed_s):
        if self.done or not self.limits.timeout_s:
            return math.inf
        return max(elapsed_s, self.limits.timeout_s)
