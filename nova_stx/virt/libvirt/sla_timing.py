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

"""The ``sla`` controller's timing arithmetic, over plain numbers.

How high a downtime may go and keep the real pause within the SLA
(:func:`cap_ms`), how long the current pass takes to sync
(:func:`to_sync_s`), whether the current downtime completes soon enough
to keep it (:func:`patience_s`) and whether no downtime can fit before
the timeout (:func:`too_late`). The state machine that turns these into
decisions is :class:`~nova_stx.virt.libvirt.sla_controller.SlaController`.
"""

from nova_stx.virt.libvirt import convergence

#: Switch-over cost on top of copying the last pages, ms.
SWITCHOVER_MS = 30
#: Jitter assumed at least, relative.
MIN_JITTER = 0.02
#: Seconds between two polls of the monitor (Nova's).
POLL_S = 0.5
#: Keep the current downtime when it completes within this many passes
#: and seconds anyway.
PATIENT_PASSES = 2
PATIENT_S = 5.0


def cap_ms(max_downtime_ms, jitter):
    """Return the highest downtime that keeps the real pause in the SLA.

    QEMU switches over once the bytes left fit its last 100 ms of
    bandwidth times the downtime; the pause is those bytes at the
    bandwidth during the pause plus the switch-over cost.

    :param max_downtime_ms: the migration's max downtime, ms.
    :param jitter: the bandwidth's measured jitter, relative (at least
        :data:`MIN_JITTER` is assumed).
    """
    jitter = max(jitter, MIN_JITTER)
    room = max_downtime_ms - SWITCHOVER_MS
    return max(1, int(room * (1 - 3 * jitter) / (1 + 3 * jitter)))


def to_sync_s(sample, bandwidth, target_ms):
    """Seconds until the current pass fits ``target_ms`` and syncs."""
    threshold = bandwidth * target_ms / 1000.0
    return max(0.0, sample.memory_remaining - threshold) / bandwidth


def patience_s(downtime_ms, dirty, rho, bandwidth, time_left):
    """Seconds to complete at the current downtime, if that is soon.

    :param downtime_ms: the current downtime, ms; None or 0: none yet.
    :param dirty: the newest dirty set, bytes.
    :param rho: the dirty sets' shrink ratio per pass.
    :param bandwidth: bytes/s.
    :param time_left: seconds to the timeout; None: no timeout.
    """
    if not downtime_ms:
        return None
    passes = convergence.passes_to_fit(
        dirty * rho, rho, bandwidth * downtime_ms / 1000.0)
    if passes >= PATIENT_PASSES:
        return None
    extra_s = (dirty * rho / bandwidth +
               convergence.geometric_time_s(dirty * rho, rho, passes,
                                            bandwidth))
    if extra_s > PATIENT_S or (time_left is not None and
                               extra_s >= time_left):
        return None
    return extra_s


def too_late(estimator, limits, sample, jitter):
    """Return ``(end_s, numbers)`` when no downtime fits in time.

    The soonest the dirty pages can fit the max downtime, from the
    dirty rate QEMU measured over the last whole pass (see
    :func:`~nova_stx.virt.libvirt.convergence.fastest_fit_s`), at the
    highest plausible bandwidth; None while that bound is within the
    timeout or cannot be read.

    :param estimator: the controller's
        :class:`~nova_stx.virt.libvirt.convergence.Estimator`.
    :param limits: the migration's
        :class:`~nova_stx.virt.libvirt.decisions.Limits`.
    :param sample: the newest job sample.
    :param jitter: the bandwidth's jitter, relative.
    """
    passes = estimator.dirty_passes()
    if not limits.timeout_s or len(passes) < 2 or (
            limits.auto_converge and sample.throttle_pct < 99):
        return None
    # NOTE(nova-stx): QEMU updates its dirty rate at a sync at least
    # 1 s after the last update; when the last two passes each took
    # longer (with room for our reading of their bounds), the rate is
    # exactly the last pass's.
    previous = passes[-1].start_s - passes[-2].start_s
    before = (passes[-2].start_s - passes[-3].start_s
              if len(passes) > 2 else
              passes[-2].start_s - estimator.passes[0].start_s)
    if min(previous, before) < 1 + 2 * POLL_S or sample.dirty_bps <= 0:
        return None
    # NOTE(nova-stx): one 100 ms window may be three jitters faster,
    # which the switch-over threshold allows for; the mean of a pass
    # of two seconds or more (20 windows) is within one jitter at
    # three standard deviations, our average included.
    bandwidth = estimator.bandwidth_bps
    fastest = bandwidth * (1 + 3 * jitter)
    steady = bandwidth * (1 + jitter)
    threshold = fastest * limits.max_downtime_ms / 1000.0
    floor = sample.dirty_bps * (previous - 2 * POLL_S)
    limit = limits.timeout_s - passes[-1].start_s
    fit_s = convergence.fastest_fit_s(
        passes[-1].remaining, sample.dirty_bps, floor, threshold,
        steady, limit, burst_bps=fastest, short_s=1 + 2 * POLL_S)
    if fit_s <= limit:
        return None
    end_s = passes[-1].start_s + fit_s
    return end_s, {'dirty_rate_bps': sample.dirty_bps,
                   'pass_s': previous, 'pass_bps': steady,
                   'fastest_bps': fastest, 'earliest_fit_s': end_s}
