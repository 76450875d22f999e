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

"""What a running pre-copy migration tells about its convergence.

QEMU starts a pass over guest RAM at every dirty-bitmap sync
(``memory_iteration`` counts them) and switches over at a sync when the
pages left, ``R``, fit ``bandwidth x downtime``. So the observable that
matters is ``R_k``, the bytes to send at the start of pass *k*: pass 1 is
the bulk copy of RAM, pass 2 onwards the pages dirtied meanwhile. For a
real guest ``R_k`` falls geometrically (dirty rate below bandwidth) or
levels off at its writable working set; the minimal downtime that can
work is about ``min R_k / bandwidth``.

QEMU syncs as soon as the pages left in a pass fit the threshold, so
``R_k`` also holds the pages the previous pass left unsent, up to
``bandwidth x downtime``; its *net* part, ``R_k`` minus that leftover, is
what shrinks (converging) or not (stalled).

:class:`Estimator` turns 0.5 s polls into per-pass records and a smoothed
bandwidth with its jitter. ``memory_remaining`` is live, so ``R_k`` is
read from QEMU's expected downtime instead: QEMU 7.2 computes it as the
bytes left at the last sync over the bandwidth of its last 100 ms window,
the window ``memory_bps`` reports, so their product is ``R_k`` (checked on
libvirt 9.0 / QEMU 7.2: constant through a pass). Until QEMU has a dirty
rate, and on the first poll of a pass while the product still holds the
previous pass's value, ``R_k`` is reconstructed from the polls around the
boundary. The functions below are the predictions, plain numbers in and
out.
"""

import collections
import dataclasses
import math

#: Weight of the newest sample in the bandwidth average.
ALPHA = 0.3
#: Pass records kept (the newest); decisions look at the last few.
HISTORY = 64
#: Jitter assumed before there are samples, and how many samples it
#: weighs as: a cautious start.
PRIOR_JITTER = 0.05
PRIOR_SAMPLES = 5


@dataclasses.dataclass(frozen=True)
class PassRecord:
    """The start of one pass over guest RAM."""

    #: libvirt's ``memory_iteration`` of the pass.
    iteration: int
    #: Estimated elapsed time of the bitmap sync that started it, s.
    start_s: float
    #: Estimated bytes the pass had to send when it started.
    remaining: float
    #: ``remaining`` less the previous pass's estimated leftover.
    net: float = 0.0
    #: The previous pass's estimated leftover, bytes.
    leftover: float = 0.0
    #: Whether ``remaining`` was read from QEMU, not reconstructed.
    exact: bool = False


class Estimator:
    """Per-pass records and a smoothed bandwidth from job samples."""

    def __init__(self):
        self.bandwidth_bps = None
        self._squares = PRIOR_JITTER ** 2 * PRIOR_SAMPLES
        self._count = PRIOR_SAMPLES
        #: The newest :data:`HISTORY` pass records, oldest first.
        self.passes = collections.deque(maxlen=HISTORY)
        #: When the first pass after the bulk copy started, s.
        self.first_dirty_s = None
        self.last_rate_bps = None
        self._last = None

    @property
    def jitter(self):
        """Relative standard deviation of QEMU's bandwidth windows."""
        return math.sqrt(self._squares / self._count)

    def add(self, sample, downtime_ms=None):
        """Account for one sample; return a new :class:`PassRecord` or None.

        :param sample: a ``JobSample`` of a running job.
        :param downtime_ms: the max downtime in force, ms (for the
            leftover of the pass that just ended).
        """
        last, self._last = self._last, sample
        if sample.memory_total <= 0:
            return None
        if last is not None:
            self._bandwidth(last, sample)
        elif sample.memory_bps > 0:
            self.bandwidth_bps = sample.memory_bps
        if sample.memory_bps > 0 and self.bandwidth_bps:
            deviation = sample.memory_bps / self.bandwidth_bps - 1
            self._squares += deviation ** 2
            self._count += 1
        synced = _synced_bytes(sample, downtime_ms)
        if not self.passes:
            record = PassRecord(sample.iteration, 0.0, float(
                sample.memory_total if sample.iteration <= 1
                else synced or sample.memory_remaining))
        elif sample.iteration > self.passes[-1].iteration:
            record = self._boundary(last, sample, downtime_ms)
            if synced and not _same(synced,
                                    _synced_bytes(last, downtime_ms)):
                record = dataclasses.replace(record, remaining=synced,
                                             exact=True)
            leftover = min(self.passes[-1].remaining,
                           (self.bandwidth_bps or 0.0) *
                           (downtime_ms or 0) / 1000.0)
            record = dataclasses.replace(
                record, leftover=leftover,
                net=max(0.0, record.remaining - leftover))
        elif (synced and self.passes[-1].iteration >= 2 and
              (not self.passes[-1].exact or
               not _same(synced, self.passes[-1].remaining))):
            # A better reading of the current pass's R.
            old = self.passes.pop()
            record = dataclasses.replace(
                old, remaining=synced, net=max(0.0, synced - old.leftover),
                exact=True)
        else:
            return None
        self.passes.append(record)
        if record.iteration >= 2 and self.first_dirty_s is None:
            self.first_dirty_s = record.start_s
        return record

    def _bandwidth(self, last, sample):
        dt = sample.elapsed_s - last.elapsed_s
        sent = sample.memory_processed - last.memory_processed
        if dt <= 0 or sent <= 0:
            return
        rate = sent / dt
        self.last_rate_bps = rate
        if self.bandwidth_bps is None:
            self.bandwidth_bps = rate
        else:
            self.bandwidth_bps += ALPHA * (rate - self.bandwidth_bps)

    def _boundary(self, last, sample, downtime_ms):
        """Reconstruct the sync time and ``R`` of the newest pass."""
        now = sample.elapsed_s
        rate = self.bandwidth_bps or 0.0
        passes = sample.iteration - self.passes[-1].iteration
        if last is None or rate <= 0:
            return PassRecord(sample.iteration, now,
                              float(sample.memory_remaining))
        if passes == 1:
            # The old pass ended once its bytes left fit the threshold.
            threshold = rate * (downtime_ms or 0) / 1000.0
            sync = last.elapsed_s + max(
                0.0, last.memory_remaining - threshold) / rate
        else:
            # Several short passes between two polls: share the interval.
            sync = now - (now - last.elapsed_s) / passes
        sync = min(max(sync, last.elapsed_s), now)
        remaining = sample.memory_remaining + rate * (now - sync)
        return PassRecord(sample.iteration, sync,
                          float(min(remaining, sample.memory_total)))

    def dirty_passes(self):
        """Return the records of every pass after the bulk copy."""
        return [p for p in self.passes if p.iteration >= 2]


def _synced_bytes(sample, downtime_ms=None):
    """``R`` at the last sync from QEMU's expected downtime, or None.

    :param downtime_ms: the max downtime in force: QEMU reports it as the
        expected downtime until it has measured one, so an expected
        downtime equal to it is no reading.
    """
    if (sample is None or sample.dirty_bps <= 0 or
            sample.expected_downtime_ms <= 0 or sample.memory_bps <= 0):
        return None
    if downtime_ms and abs(sample.expected_downtime_ms - downtime_ms) < 1:
        return None
    value = sample.expected_downtime_ms * sample.memory_bps / 1000.0
    if value < sample.memory_remaining or value > sample.memory_total:
        return None
    return value


def _same(a, b, tolerance=0.005):
    return a is not None and b is not None and abs(a - b) <= tolerance * b


def ratios(values):
    """Return ``values[k] / values[k - 1]`` for each consecutive pair."""
    return [b / a for a, b in zip(values, values[1:]) if a > 0]


def stalled(values, margin, window):
    """Whether the last ``window`` values improve less than ``margin``.

    Compares the mean of the newest ``window`` values with the mean of
    the ``window`` before them, so one misread pass neither makes nor
    hides a stall.

    :param values: dirty-set sizes per pass, oldest first.
    :param margin: the relative improvement that counts as progress.
    :param window: values per mean.
    :returns: False until there are ``2 * window`` values.
    """
    if len(values) < 2 * window:
        return False
    newest = sum(values[-window:]) / window
    before = sum(values[-2 * window:-window]) / window
    return newest >= before * (1 - margin)


def passes_to_fit(remaining, rho, threshold):
    """Return passes until ``remaining * rho ** n <= threshold``.

    :returns: 0 when it already fits, ``math.inf`` when ``rho >= 1``.
    """
    if remaining <= threshold:
        return 0
    if rho >= 1 or rho <= 0 or threshold <= 0:
        return math.inf
    return math.ceil(math.log(threshold / remaining) / math.log(rho))


def geometric_time_s(remaining, rho, passes, bandwidth_bps):
    """Seconds to send ``passes`` further passes shrinking by ``rho``."""
    if passes == 0:
        return 0.0
    if rho == 1:
        total = remaining * passes
    else:
        total = remaining * rho * (1 - rho ** passes) / (1 - rho)
    return total / bandwidth_bps


def fastest_fit_s(remaining, rate_bps, floor_bytes, threshold,
                  bandwidth_bps, limit_s, burst_bps=None, short_s=0.0):
    """Return the least seconds until the bytes after a sync fit.

    A lower bound, from one fact about any steady guest: the distinct
    pages it dirties within ``t`` seconds, ``g(t)``, grow with ``t`` and
    are concave in it (a shorter window never dirties at a lower rate).
    So a pass of ``T`` seconds no longer than the measured one leaves at
    least ``rate_bps x T``, and a longer one at least ``floor_bytes``,
    what the measured pass left; a pass lasts at least its bytes above
    ``threshold`` over the bandwidth.

    :param remaining: bytes at the start of the current pass.
    :param rate_bps: QEMU's dirty rate over one whole pass, bytes/s.
    :param floor_bytes: ``rate_bps`` times that pass's length.
    :param threshold: the most bytes a sync can switch over with.
    :param bandwidth_bps: the highest plausible mean bandwidth of a pass.
    :param limit_s: stop counting past this many seconds.
    :param burst_bps: the highest plausible bandwidth of a pass shorter
        than ``short_s`` (its mean is noisier); ``bandwidth_bps`` if None.
    :returns: seconds from the start of the current pass, ``math.inf``
        when the bound never fits.
    """
    total = 0.0
    while remaining > threshold:
        bandwidth = bandwidth_bps
        if burst_bps and (remaining - threshold) / bandwidth < short_s:
            bandwidth = burst_bps
        pass_s = (remaining - threshold) / bandwidth
        total += pass_s
        if total > limit_s:
            return total
        following = min(floor_bytes, rate_bps * pass_s)
        if following >= remaining:
            return math.inf
        remaining = following
    return total
