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

"""Downtime ramps: when a live migration may pause the guest for how long.

A ramp is ``((seconds, ms), ...)``: from ``seconds`` after the migration
started, the switch-over may pause the guest for up to ``ms``. Each ramp
starts low and ends at the maximum, so a guest that converges early
pauses for less. Plain functions of numbers, no configuration.
"""

STARLINGX = 'starlingx'
NOVA = 'nova'
EXPONENTIAL = 'exponential'
#: Every ramp, the values of ``[nova_stx] live_migration_downtime_ramp``.
RAMPS = (STARLINGX, NOVA, EXPONENTIAL)


def linear_steps(max_ms, steps, delay_s):
    """Return a linear ramp from ``max_ms / steps`` up to ``max_ms``.

    :param max_ms: the last step's downtime, ms.
    :param steps: number of increases (the ramp has ``steps + 1`` points).
    :param delay_s: seconds between points (truncated like Nova does).
    :returns: ``((seconds, ms), ...)``.
    """
    delay = int(delay_s)
    base = max_ms / steps
    increment = (max_ms - base) / steps
    return tuple((delay * i, int(base + increment * i))
                 for i in range(steps + 1))


def starlingx_steps(max_ms, timeout_s, steps):
    """Return StarlingX's ramp: linear, at the maximum at 2/3 of timeout.

    A timeout of 0 puts every point at 0 s: the maximum applies at once.

    :param max_ms: maximum downtime, ms.
    :param timeout_s: effective timeout, s.
    :param steps: ``[libvirt] live_migration_downtime_steps``.
    :returns: ``((seconds, ms), ...)``.
    """
    return linear_steps(max_ms, steps, timeout_s * 2.0 / 3 / steps)


def nova_steps(max_ms, steps, delay_s, gib):
    """Return upstream Nova 34's ramp: one point per ``delay_s`` per GiB.

    :param max_ms: maximum downtime, ms.
    :param steps: ``[libvirt] live_migration_downtime_steps``.
    :param delay_s: ``[libvirt] live_migration_downtime_delay``.
    :param gib: guest data size, see :func:`data_gb`.
    :returns: ``((seconds, ms), ...)``.
    """
    return linear_steps(max_ms, steps, delay_s * gib)


def exponential_steps(max_ms, steps, delay_s, gib):
    """Return Nova Liberty's exponential ramp.

    :param max_ms: maximum downtime, ms.
    :param steps: ``[libvirt] live_migration_downtime_steps``.
    :param delay_s: ``[libvirt] live_migration_downtime_delay``.
    :param gib: guest data size, see :func:`data_gb`.
    :returns: ``((seconds, ms), ...)``.
    """
    delay = int(delay_s * gib)
    offset = max_ms / (steps + 1)
    base = (max_ms - offset) ** (1.0 / steps)
    points = [(delay * i, int(offset + base ** i)) for i in range(steps)]
    # NOTE(nova-stx): base ** steps only approximates max - offset in
    # floating point; the last point is the maximum by definition.
    points.append((delay * steps, max_ms))
    return tuple(points)


def steps(ramp, max_ms, timeout_s, count, delay_s, gib):
    """Return the steps of the named ramp.

    :param ramp: one of :data:`RAMPS`; an unknown name is StarlingX's.
    :param max_ms: maximum downtime, ms.
    :param timeout_s: effective timeout, s (StarlingX's ramp only).
    :param count: ``[libvirt] live_migration_downtime_steps``.
    :param delay_s: ``[libvirt] live_migration_downtime_delay``, s per
        GiB (Nova's and the exponential ramp only).
    :param gib: guest data size in GiB.
    :returns: ``((seconds, ms), ...)``.
    """
    if ramp == NOVA:
        return nova_steps(max_ms, count, delay_s, gib)
    if ramp == EXPONENTIAL:
        return exponential_steps(max_ms, count, delay_s, gib)
    return starlingx_steps(max_ms, timeout_s, count)
