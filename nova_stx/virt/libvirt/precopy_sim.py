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

"""A seeded simulator of QEMU 7.2 pre-copy live migration.

It drives any controller (see :mod:`~nova_stx.virt.libvirt.decisions`)
with the job samples libvirt would report, so forecasts and benchmarks run
the very decision code the driver runs. The model:

* the guest dirties distinct pages of a hot working set ``W`` at ``D``
  bytes/s, scaled by ``1 - throttle``; over ``t`` seconds since a bitmap
  sync it has dirtied ``W (1 - exp(-D t / W))`` bytes: geometric at first,
  levelling off at ``W``;
* the link carries ``B`` bytes/s; a pass (between two bitmap syncs) ends
  once the bytes left fit ``B x downtime`` (QEMU's threshold) and lasts at
  least the sync's cost; the next pass sends the bytes left plus those
  dirtied, overlapping like random subsets of ``W`` (of RAM after the bulk
  copy);
* QEMU switches over at a sync when those bytes fit ``B_w x downtime``,
  ``B_w`` being its last 100 ms of bandwidth, ``B (1 + j z)`` with ``z``
  standard normal clipped to +-3; the guest then pauses for the bytes at
  another such draw of the bandwidth, plus a fixed overhead;
* auto-converge as QEMU 7.2: at a sync at least 1 s after its last check,
  bytes dirtied in the period above half the bytes sent count; every
  second count throttles the guest 20 %, then 10 % more, up to 99 %;
* post-copy: the guest pauses for the overhead and resumes on the
  destination, which pulls the bytes left; force-complete without
  post-copy pauses the guest until they are sent;
* once the passes repeat exactly (a plateau, no throttle to come), the
  syncs are independent trials and are skipped in one geometric draw.
"""

import dataclasses
import math
import random
import typing as ty

from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import job_stats

GIB = 1 << 30
PAGE_SIZE = 4096
#: QEMU's downtime-limit until someone sets one, ms.
QEMU_DEFAULT_DOWNTIME_MS = 300
SETUP_S = 0.05
#: Cost of a bitmap sync: a floor plus a share per GiB of RAM, s.
SYNC_S = 0.005
SYNC_PER_GIB_S = 0.002
CLIP = 3.0

COMPLETED = 'completed'
POST_COPY = 'post_copy'
PAUSED = 'paused'
ABORTED = 'aborted'
RUNNING = 'running'


@dataclasses.dataclass(frozen=True)
class Workload:
    """One guest, its link, and the start flags of its migration."""

    ram_bytes: int
    #: Writable working set the guest keeps dirtying, bytes.
    hot_bytes: int
    #: Rate at which the guest dirties distinct pages, bytes/s.
    dirty_bps: float
    #: Bandwidth of the migration link, bytes/s.
    link_bps: float
    #: Relative standard deviation of QEMU's 100 ms bandwidth windows.
    jitter: float = 0.03
    #: Switch-over cost beyond copying the last pages, ms.
    overhead_ms: float = 15.0
    auto_converge: bool = False
    post_copy: bool = False
    seed: int = 0


@dataclasses.dataclass
class Result:
    """What one simulated migration did."""

    outcome: str
    #: Seconds from the start to the outcome (the guest running on the
    #: destination, or back on the source).
    elapsed_s: float
    #: The guest's real pause, ms; None when it did not move.
    downtime_ms: ty.Optional[float]
    #: Bytes sent.
    data_bytes: float
    passes: int
    #: ``[(elapsed_s, Decision)]``.
    decisions: list = dataclasses.field(default_factory=list)

    @property
    def completed(self):
        return self.outcome in (COMPLETED, POST_COPY, PAUSED)


def _clip(z):
    return max(-CLIP, min(CLIP, z))


def _upper_tail(z):
    """P(clipped standard normal >= z)."""
    if z > CLIP:
        return 0.0
    if z <= -CLIP:
        return 1.0
    return 0.5 * math.erfc(z / math.sqrt(2))


class Job:
    """The state of one simulated pre-copy job.

    ``advance(t)`` runs it to ``t`` seconds, ``stats(t)`` is what
    ``virDomain.jobStats()`` would return then, ``apply(decision)`` carries
    a decision out; ``done`` is ``(outcome, elapsed_s, downtime_ms)`` once
    it ended.
    """

    def __init__(self, workload, downtime_ms):
        w = workload
        self.w = w
        self.rng = random.Random(w.seed)
        self.downtime_ms = downtime_ms
        self.t = SETUP_S
        self.iteration = 1
        self.pass_bytes = float(w.ram_bytes)
        self.pass_start = self.t
        self.sent_in_pass = 0.0
        self.processed = 0.0
        self.last_sync_bytes = float(w.ram_bytes)
        self.prev_sync_bytes = float(w.ram_bytes)
        self.throttle = 0
        self.dirty_rate_bps = 0.0
        self._period_start = self.t
        self._period_dirty = 0.0
        self._period_sent = 0.0
        self._high_count = 0
        self.done = None
        self.min_pass_s = SYNC_S + SYNC_PER_GIB_S * w.ram_bytes / GIB

    def _z(self):
        return _clip(self.rng.gauss(0.0, 1.0))

    def _dirtied(self, seconds):
        hot = self.w.hot_bytes
        rate = self.w.dirty_bps * (1 - self.throttle / 100.0)
        if hot <= 0 or rate <= 0:
            return 0.0
        return hot * -math.expm1(-rate * seconds / hot)

    def _union(self, left, dirtied):
        within = self.w.hot_bytes if self.iteration >= 2 else \
            self.w.ram_bytes
        overlap = left * dirtied / within if within else 0.0
        return min(float(self.w.ram_bytes), left + dirtied - overlap)

    def _send(self, seconds):
        sent = min(self.w.link_bps * seconds,
                   self.pass_bytes - self.sent_in_pass)
        self.sent_in_pass += sent
        self.processed += sent

    def pending(self):
        """Bytes QEMU would still have to send right now."""
        left = self.pass_bytes - self.sent_in_pass
        return self._union(left, self._dirtied(self.t - self.pass_start))

    def advance(self, until):
        link = self.w.link_bps
        while self.done is None and self.t < until:
            threshold = link * self.downtime_ms / 1000.0
            left = self.pass_bytes - self.sent_in_pass
            cross = self.t + max(0.0, left - threshold) / link
            end = max(self.pass_start + self.min_pass_s, cross)
            if end > until:
                self._send(until - self.t)
                self.t = until
                return
            self._send(end - self.t)
            self.t = end
            self._sync(until)

    def _sync(self, until):
        pass_s = self.t - self.pass_start
        left = self.pass_bytes - self.sent_in_pass
        dirtied = self._dirtied(pass_s)
        pending = self._union(left, dirtied)
        self._account(dirtied, self.sent_in_pass)
        self.iteration += 1
        threshold_bps = self.downtime_ms / 1000.0
        if pending <= self.w.link_bps * (1 + self.w.jitter * self._z()) * \
                threshold_bps:
            self._switch_over(pending)
            return
        steady = (abs(pending - self.pass_bytes) <= 1e-7 * self.pass_bytes
                  + 1 and (not self.w.auto_converge or self.throttle >= 99))
        if steady:
            self._skip(pending, pass_s, self.sent_in_pass, until)
        self.pass_bytes = pending
        self.prev_sync_bytes = self.last_sync_bytes
        self.last_sync_bytes = pending
        self.sent_in_pass = 0.0
        self.pass_start = self.t

    def _account(self, dirtied, sent):
        """QEMU's dirty rate and auto-converge, updated at a sync."""
        self._period_dirty += dirtied
        self._period_sent += sent
        period = self.t - self._period_start
        if period < 1.0:
            return
        self.dirty_rate_bps = self._period_dirty / period
        if (self.w.auto_converge and
                self._period_dirty > 0.5 * self._period_sent):
            self._high_count += 1
            if self._high_count >= 2:
                self._high_count = 0
                self.throttle = 20 if not self.throttle else min(
                    99, self.throttle + 10)
        self._period_start = self.t
        self._period_dirty = self._period_sent = 0.0

    def _skip(self, pending, pass_s, sent, until):
        """Jump over identical passes until ``until`` or a switch-over."""
        trials = int((until - self.t) // pass_s)
        if trials <= 0:
            return
        fit = pending / (self.w.link_bps * self.downtime_ms / 1000.0)
        chance = _upper_tail((fit - 1) / self.w.jitter) if \
            self.w.jitter > 0 else float(fit <= 1)
        first = math.inf
        if chance >= 1:
            first = 1
        elif chance > 0:
            first = 1 + int(math.log(1 - self.rng.random()) /
                            math.log(1 - chance))
        count = min(trials, first)
        self.t += count * pass_s
        self.iteration += count
        self.processed += count * sent
        self.dirty_rate_bps = pending / pass_s
        if first <= trials:
            self._switch_over(pending)

    def _switch_over(self, pending):
        w = self.w
        pause_s = pending / (w.link_bps * (1 + w.jitter * self._z()))
        down_s = pause_s + w.overhead_ms / 1000.0
        self.processed += pending
        self.done = (COMPLETED, self.t + down_s, down_s * 1000.0)

    def apply(self, decision):
        action = decision.action
        if action == decisions.SET_DOWNTIME:
            self.downtime_ms = decision.downtime_ms
        elif action == decisions.ABORT:
            self.done = (ABORTED, self.t, None)
        elif action in (decisions.POST_COPY, decisions.FORCE_COMPLETE):
            pending = self.pending()
            copy_s = pending / self.w.link_bps
            overhead_s = self.w.overhead_ms / 1000.0
            self.processed += pending
            if self.w.post_copy:
                self.done = (POST_COPY, self.t + overhead_s + copy_s,
                             self.w.overhead_ms)
            elif action == decisions.FORCE_COMPLETE:
                self.done = (PAUSED, self.t + overhead_s + copy_s,
                             (copy_s + overhead_s) * 1000.0)
            else:
                # libvirt refuses post-copy on a job not armed for it.
                self.processed -= pending

    def stats(self, elapsed_s):
        """Return the raw ``jobStats()`` dict of the running job."""
        sample = self.sample(elapsed_s)
        return {'type': 2, 'memory_total': sample.memory_total,
                'memory_processed': sample.memory_processed,
                'memory_remaining': sample.memory_remaining,
                'memory_bps': int(sample.memory_bps),
                'memory_dirty_rate': int(sample.dirty_bps / PAGE_SIZE),
                'memory_page_size': PAGE_SIZE,
                'memory_iteration': sample.iteration,
                'downtime': int(sample.expected_downtime_ms),
                'auto_converge_throttle': sample.throttle_pct}

    def sample(self, elapsed_s):
        bps = self.w.link_bps * (1 + self.w.jitter * self._z())
        # NOTE(nova-stx): as QEMU 7.2: the downtime limit until there is a
        # dirty rate, then the bytes left at the last sync over the 100 ms
        # window, updated 100 ms after the sync.
        if not self.dirty_rate_bps:
            expected_ms = self.downtime_ms
        elif self.t - self.pass_start < 0.1:
            expected_ms = self.prev_sync_bytes / bps * 1000.0
        else:
            expected_ms = self.last_sync_bytes / bps * 1000.0
        return job_stats.JobSample(
            elapsed_s=elapsed_s, memory_total=self.w.ram_bytes,
            memory_processed=int(self.processed),
            memory_remaining=int(self.pass_bytes - self.sent_in_pass),
            memory_bps=bps, dirty_bps=self.dirty_rate_bps,
            iteration=self.iteration,
            expected_downtime_ms=expected_ms,
            throttle_pct=self.throttle)


def run(workload, controller, poll_s=0.5, horizon_s=30 * 24 * 3600.0):
    """Migrate ``workload`` under ``controller``; return the Result.

    :param workload: a :class:`Workload`.
    :param controller: a controller (``observe``, ``next_poll_s``,
        ``initial_downtime_ms``).
    :param poll_s: seconds between two polls of the monitor.
    :param horizon_s: when to stop a migration nothing ends.
    """
    initial = controller.initial_downtime_ms
    job = Job(workload,
              QEMU_DEFAULT_DOWNTIME_MS if initial is None else initial)
    made = []
    last = 0.0
    while job.done is None:
        wake = controller.next_poll_s(last)
        due = last + poll_s
        if wake > due:
            # NOTE(nova-stx): math.inf (nothing left to decide, e.g. no
            # timeout) runs the job to the horizon.
            due = horizon_s if wake >= horizon_s else (
                math.floor(wake / poll_s) + 1) * poll_s
        due = min(due, horizon_s)
        job.advance(due)
        if job.done is not None:
            break
        if due >= horizon_s:
            return Result(RUNNING, horizon_s, None, job.processed,
                          job.iteration, made)
        for decision in controller.observe(job.sample(due)):
            made.append((due, decision))
            job.apply(decision)
            if job.done is not None:
                break
        last = due
    outcome, elapsed, downtime = job.done
    return Result(outcome, elapsed, downtime, job.processed, job.iteration,
                  made)
