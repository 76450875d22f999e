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

"""The ``sla`` controller: convergence-aware, within the instance's SLA.

At every pass boundary (a new ``memory_iteration``) after the bulk copy
it predicts the bytes the next bitmap sync leaves, ``R``, from the dirty
sets seen so far, and takes the bandwidth ``B`` from the bytes sent and
its jitter ``j`` from QEMU's 100 ms windows (at least
:data:`~nova_stx.virt.libvirt.sla_timing.MIN_JITTER`):

* **jump**: when the pause those bytes cause, ``R / B / (1 - 3j)`` plus
  :data:`~nova_stx.virt.libvirt.sla_timing.SWITCHOVER_MS`, fits the max
  downtime, it sets the downtime in one step to ``R / B x (1 + 3j)``, so
  that QEMU's own estimate lets the next sync switch over (never lower
  than before, never above the max); unless the current downtime
  completes within :data:`~nova_stx.virt.libvirt.sla_timing.PATIENT_PASSES`
  passes anyway, since a shorter pause beats a marginally earlier end;
* **wait**: while the dirty sets still shrink and the geometric
  prediction completes before the timeout, it keeps the downtime (a
  higher one only makes QEMU leave more pages for the next pass);
* **end early**: when the dirty sets have stopped shrinking and their
  floor cannot fit the max downtime even at the best bandwidth seen
  (``R / B / (1 + 3j) > max``), or the prediction cannot complete before
  the timeout, or (from the second dirty set on) even the soonest fit
  that QEMU's dirty rate over the last pass allows comes after the
  timeout, it ends the migration at once: post-copy when the timeout
  action is ``force_complete``, post-copy is armed and the copy fits the
  time left (never while the bandwidth has collapsed), an abort when the
  action is ``abort``. Otherwise it waits for the timeout, which acts as
  the ``nova`` controller's does; a pause, which breaks the max downtime,
  is left to the timeout.

Auto-converge throttling harder keeps a stalled migration waiting until
QEMU's 99 % cap. Every decision carries its reason and the numbers
behind it, including the predicted time of completion
(``predicted_end_s``); :attr:`SlaController.predictions` keeps every
prediction made.

This module holds the state machine that emits the decisions; the
arithmetic behind them (the pause cap, patience, "too late") is in
:mod:`~nova_stx.virt.libvirt.sla_timing`, the decisions that end a
migration in :mod:`~nova_stx.virt.libvirt.sla_endings`.
"""

import math

from nova_stx.virt.libvirt import convergence
from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import migration_policy
from nova_stx.virt.libvirt import sla_endings
from nova_stx.virt.libvirt import sla_timing

#: A pass improving less than this on the best before it is no progress.
STALL_MARGIN = 0.01
#: Passes in a row without progress that make a stall.
STALL_PASSES = 2
#: Seconds of dirty sets to see before ending a migration early.
STALL_MIN_S = 5.0
#: Pages left within this factor of bandwidth x downtime: QEMU hovers at
#: its threshold (the factor allows for our bandwidth estimate and QEMU's
#: differing).
HOVER = 1.5


def _ms(seconds):
    return seconds * 1000.0


class SlaController:
    """Decide a migration's downtime and its early end; see module doc.

    :param limits: the migration's
        :class:`~nova_stx.virt.libvirt.decisions.Limits`.
    """

    name = 'sla'

    def __init__(self, limits):
        self.limits = limits
        self.initial_downtime_ms = limits.initial_downtime_ms
        #: The last downtime decided; the first poll sets the initial one
        #: again (the monitor may not be the proxy that set it).
        self.downtime_ms = None
        self.estimator = convergence.Estimator()
        self._probe_from = None
        self.ended = False
        self.timed_out = False
        #: Predictions made, oldest first: ``{'at_s', 'outcome',
        #: 'end_s'}``; the outcome is ``complete``, ``abort`` or
        #: ``timeout``.
        self.predictions = []

    @classmethod
    def from_plan(cls, plan, post_copy=None, auto_converge=None):
        """Return the controller of a ``MigrationPlan``'s limits."""
        return cls(decisions.Limits.from_plan(plan, post_copy,
                                              auto_converge))

    def next_poll_s(self, elapsed_s):
        """Every poll may matter: pass boundaries come at any time."""
        return elapsed_s

    def observe(self, sample):
        """Return the decisions for one poll of the running job."""
        if sample.post_copy or self.ended:
            return ()
        first = ()
        if self.downtime_ms is None and self.initial_downtime_ms:
            self.downtime_ms = self.initial_downtime_ms
            first = (decisions.Decision(
                decisions.SET_DOWNTIME, decisions.INITIAL,
                f'Starting with a max downtime of {self.downtime_ms} ms '
                f'(maximum {self.limits.max_downtime_ms} ms).',
                downtime_ms=self.downtime_ms,
                numbers={'elapsed_s': sample.elapsed_s}),)
        record = self.estimator.add(sample, self.downtime_ms)
        if not self.timed_out and self.limits.timed_out(sample.elapsed_s):
            return first + self._timeout(sample)
        bandwidth = self.estimator.bandwidth_bps
        if (record is None or record.iteration < 2 or not bandwidth or
                sample.disk_remaining):
            return first
        poll_s = sla_timing.POLL_S
        if (not record.exact and
                sample.memory_remaining > bandwidth * poll_s * 2):
            # NOTE(nova-stx): QEMU's exact reading of this pass comes with
            # the next poll; a reconstructed R is only used when the pass
            # may end before then.
            return first
        return first + self._decide(sample, bandwidth)

    def _timeout(self, sample):
        self.timed_out = True
        self.ended = True
        return sla_endings.timeout(self.limits, sample)

    def _decide(self, sample, bandwidth):
        totals = [p.remaining for p in self.estimator.dirty_passes()]
        jitter = max(self.estimator.jitter, sla_timing.MIN_JITTER)
        maximum = self.limits.max_downtime_ms
        now = sample.elapsed_s
        time_left = self.limits.time_left_s(now)
        trend = convergence.ratios(totals)[-3:]
        facts = {'bandwidth_bps': bandwidth, 'jitter': jitter,
                 'dirty_set_bytes': totals[-1]}

        # Jump: can the next sync switch over within the SLA? The next
        # dirty set is taken to be as large as the last one.
        rho = min(1.0, max(trend)) if trend else 1.0
        pending = totals[-1]
        need_ms = _ms(pending / bandwidth) * (1 + 3 * jitter)
        pause_ms = _ms(pending / bandwidth) / (1 - 3 * jitter) + \
            sla_timing.SWITCHOVER_MS
        if pause_ms <= maximum and need_ms <= maximum:
            patient_s = sla_timing.patience_s(self.downtime_ms, totals[-1],
                                              rho, bandwidth, time_left)
            if patient_s is not None:
                self._predict(sample, 'complete', now + patient_s)
                return ()
            target = max(math.ceil(need_ms), self.downtime_ms or 0)
            current = self.downtime_ms or 0
            if current and pending <= bandwidth * current / 1000.0 * HOVER:
                # NOTE(nova-stx): QEMU hovers at its threshold: each sync
                # finds the pages it left unsent plus a few new ones, just
                # above bandwidth x downtime. A slightly higher downtime
                # only moves the threshold; doubling it lets the pages
                # left now fit at once, and the pause stays about them.
                target = min(self.cap_ms(), max(target, 2 * current))
            end_s = (now + sla_timing.to_sync_s(sample, bandwidth, target) +
                     pending / bandwidth)
            self._predict(sample, 'complete', end_s)
            return self._raise(
                target, f'The next switch-over needs about {target} ms '
                f'(pause up to {pause_ms:.0f} ms): {pending:.0f} bytes at '
                f'{bandwidth:.0f} bytes/s.', sample,
                dict(facts, pending_bytes=pending, need_ms=need_ms,
                     pause_ms=pause_ms, predicted_end_s=end_s))
        late = sla_timing.too_late(self.estimator, self.limits, sample,
                                   jitter)
        if late is not None:
            end_s, facts_late = late
            return self._end(
                sample, bandwidth, f'Too slow at any downtime: at a dirty '
                f'rate of {facts_late["dirty_rate_bps"]:.0f} bytes/s the '
                f'pages cannot fit {maximum} ms before {end_s:.0f} s, '
                f'after the {self.limits.timeout_s} s timeout.',
                dict(facts, **facts_late))
        if len(totals) < 3:
            # Two dirty sets say little about their trend yet.
            return ()

        # Probe: a downtime that cannot fit this pass still shortens the
        # next one (QEMU syncs once the pages left fit it), which lowers
        # the floor the dirty sets level off at; the cap is the highest
        # that keeps the pause within the SLA.
        cap = self.cap_ms()
        if self._probe_from is None or (self.downtime_ms or 0) < cap * 0.9:
            if self._probe_from is None:
                self._probe_from = sample.iteration
            return self._raise(
                cap, f'The dirty pages need {need_ms:.0f} ms, more than '
                f'the next pass can fit; trying {cap} ms, the most that '
                f'keeps the pause within {maximum} ms.', sample,
                dict(facts, pending_bytes=pending, need_ms=need_ms))

        probed = [p for p in self.estimator.dirty_passes()
                  if p.iteration > (self._probe_from or 0)]
        if len(probed) < 2 * STALL_PASSES:
            return ()
        nets = [p.net for p in probed]
        observed_s = now - probed[0].start_s
        # NOTE(nova-stx): auto-converge throttles harder at every sync
        # while the guest dirties fast; until QEMU's 99 % cap a stall may
        # still end.
        throttling = self.limits.auto_converge and sample.throttle_pct < 99
        patient = throttling or observed_s < STALL_MIN_S

        # Wait: do the dirty sets still shrink, in time?
        net_trend = convergence.ratios(nets)[-3:]
        rho_net = min(net_trend) if net_trend else 1.0
        if not convergence.stalled(nets, STALL_MARGIN, STALL_PASSES) \
                and rho_net < 1:
            slack = bandwidth * cap / 1000.0 * 2 * jitter
            more = convergence.passes_to_fit(nets[-1], rho_net, slack)
            end_s = (now + sample.memory_remaining / bandwidth +
                     convergence.geometric_time_s(nets[-1], rho_net, more,
                                                  bandwidth))
            if time_left is None or end_s - now <= time_left or patient:
                self._predict(sample, 'complete', end_s)
                return ()
            return self._end(
                sample, bandwidth, f'Converging too slowly: the prediction '
                f'completes at {end_s:.0f} s, after the '
                f'{self.limits.timeout_s} s timeout.',
                dict(facts, rho=rho_net, predicted_end_s=end_s))

        # End early: even at the cap the floor cannot fit the max.
        floor = min(p.remaining for p in probed[-3:])
        best_ms = _ms(floor / bandwidth) / (1 + 3 * jitter)
        if best_ms > maximum and not patient:
            return self._end(
                sample, bandwidth, f'Stalled: the dirty pages level off at '
                f'{floor:.0f} bytes, at least {best_ms:.0f} ms at '
                f'{bandwidth:.0f} bytes/s, above the max downtime of '
                f'{maximum} ms.', dict(facts, floor_bytes=floor,
                                       best_pause_ms=best_ms))
        self._predict(sample, 'timeout', self.limits.timeout_s)
        return ()

    def cap_ms(self):
        """Return the highest downtime that keeps the real pause in the SLA.

        See :func:`~nova_stx.virt.libvirt.sla_timing.cap_ms`.
        """
        return sla_timing.cap_ms(self.limits.max_downtime_ms,
                                 self.estimator.jitter)

    def _predict(self, sample, outcome, end_s):
        self.predictions.append({'at_s': sample.elapsed_s,
                                 'outcome': outcome, 'end_s': end_s})

    def _numbers(self, sample, facts):
        numbers = {'elapsed_s': sample.elapsed_s,
                   'iteration': sample.iteration,
                   'throttle_pct': sample.throttle_pct,
                   'max_downtime_ms': self.limits.max_downtime_ms}
        numbers.update(facts)
        return {k: round(v, 4) if isinstance(v, float) else v
                for k, v in numbers.items()}

    def _raise(self, ms, reason, sample, facts):
        ms = min(int(ms), self.limits.max_downtime_ms,
                 migration_policy.QEMU_MAX_DOWNTIME_MS)
        if self.downtime_ms is not None and ms <= self.downtime_ms:
            return ()
        self.downtime_ms = ms
        return (decisions.Decision(
            decisions.SET_DOWNTIME, decisions.CONVERGING, reason,
            downtime_ms=ms, numbers=self._numbers(sample, facts)),)

    def _end(self, sample, bandwidth, why, facts):
        """End a migration that cannot meet its SLA, or wait for timeout.

        See :func:`~nova_stx.virt.libvirt.sla_endings.hopeless`.
        """
        copy_s = sample.memory_remaining / bandwidth
        numbers = self._numbers(sample, dict(facts, post_copy_s=copy_s))
        made, outcome, end_s = sla_endings.hopeless(
            self.limits, sample, bandwidth, self.estimator.last_rate_bps,
            why, numbers)
        if made:
            self.ended = True
        self._predict(sample, outcome, end_s)
        return made
