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
starts low and ends exactly at the maximum, never above it, so a guest
that converges early pauses for less. Plain functions of numbers, no
configuration.

NOTE(nova-stx): the arithmetic is exact (integers and fractions, decimal
powers for the exponential ramp): floating point put the last step of a
103 ms maximum at 102 ms, lifted steps above very large maxima and
overflowed on maxima of 309 digits.
"""

import decimal
import fractions
import math

STARLINGX = 'starlingx'
NOVA = 'nova'
EXPONENTIAL = 'exponential'
#: Every ramp, the values of ``[nova_stx] live_migration_downtime_ramp``.
RAMPS = (STARLINGX, NOVA, EXPONENTIAL)

#: Digits of the decimal powers of the exponential ramp.
_PRECISION = 60


def _check(max_ms, steps):
    if isinstance(max_ms, bool) or not isinstance(max_ms, int):
        raise ValueError(f'a ramp maximum must be an integer number of ms, '
                         f'got {max_ms!r}')
    if max_ms < 0:
        raise ValueError(f'a ramp maximum must not be negative, got '
                         f'{max_ms}')
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f'a ramp needs an integer number of steps of at '
                         f'least 1, got {steps!r}')


def _seconds(*factors):
    """Return ``int()`` of the product of ``factors``, seconds >= 0."""
    value = fractions.Fraction(1)
    for factor in factors:
        try:
            value *= fractions.Fraction(factor)
        except (ValueError, TypeError, OverflowError):
            raise ValueError(f'a ramp delay must be a finite number, got '
                             f'{factor!r}')
    if value < 0:
        raise ValueError(f'a ramp delay must not be negative, got '
                         f'{float(value)}')
    return math.floor(value)


def linear_steps(max_ms, steps, delay_s):
    """Return a linear ramp from ``max_ms / steps`` up to ``max_ms``.

    Step *i* allows ``floor(max/steps + i * (max - max/steps) / steps)``
    ms, Nova's formula computed exactly: the last step is ``max_ms``.

    :param max_ms: the last step's downtime, ms (an integer).
    :param steps: number of increases (the ramp has ``steps + 1`` points).
    :param delay_s: seconds between points (truncated like Nova does).
    :returns: ``((seconds, ms), ...)``.
    :raises ValueError: for a negative or non-integer maximum, fewer than
        one step or a negative delay.
    """
    _check(max_ms, steps)
    delay = _seconds(delay_s)
    square = steps * steps
    return tuple((delay * i, (max_ms * steps + i * max_ms * (steps - 1))
                  // square) for i in range(steps + 1))


def starlingx_steps(max_ms, timeout_s, steps, nova_delay_s=0):
    """Return StarlingX's ramp: linear, at the maximum by 2/3 of timeout.

    Points are ``int(timeout * 2/3 / steps)`` s apart (StarlingX), or
    ``nova_delay_s`` apart when that is shorter or when there is no
    timeout to scale by, so ``[libvirt] live_migration_downtime_delay``
    still bounds the wait between two points.

    :param max_ms: maximum downtime, ms.
    :param timeout_s: effective timeout, s; 0: none.
    :param steps: ``[libvirt] live_migration_downtime_steps``.
    :param nova_delay_s: Nova's spacing, ``live_migration_downtime_delay``
        times the data GiB; 0 keeps StarlingX's spacing alone.
    :returns: ``((seconds, ms), ...)``.
    """
    _check(max_ms, steps)
    delay = _seconds(timeout_s, fractions.Fraction(2, 3 * steps))
    nova_delay = _seconds(nova_delay_s)
    if nova_delay and (not delay or nova_delay < delay):
        delay = nova_delay
    return linear_steps(max_ms, steps, delay)


def nova_steps(max_ms, steps, delay_s, gib):
    """Return upstream Nova 34's ramp: one point per ``delay_s`` per GiB.

    :param max_ms: maximum downtime, ms.
    :param steps: ``[libvirt] live_migration_downtime_steps``.
    :param delay_s: ``[libvirt] live_migration_downtime_delay``.
    :param gib: guest data size, see ``migration_policy.data_gb``.
    :returns: ``((seconds, ms), ...)``.
    """
    return linear_steps(max_ms, steps, _seconds(delay_s, gib))


def exponential_steps(max_ms, steps, delay_s, gib):
    """Return Nova Liberty's exponential ramp.

    Step *i* allows ``int(offset + base ** i)`` ms with
    ``offset = max / (steps + 1)`` and ``base = (max - offset) **
    (1 / steps)``; the last step is ``max_ms``.

    :param max_ms: maximum downtime, ms.
    :param steps: ``[libvirt] live_migration_downtime_steps``.
    :param delay_s: ``[libvirt] live_migration_downtime_delay``.
    :param gib: guest data size, see ``migration_policy.data_gb``.
    :returns: ``((seconds, ms), ...)``.
    """
    _check(max_ms, steps)
    delay = _seconds(delay_s, gib)
    ctx = decimal.Context(prec=_PRECISION, Emax=decimal.MAX_EMAX)
    offset = ctx.divide(decimal.Decimal(max_ms), steps + 1)
    span = ctx.subtract(decimal.Decimal(max_ms), offset)
    points = []
    for i in range(steps):
        if span:
            power = ctx.power(span, ctx.divide(decimal.Decimal(i), steps))
        else:
            power = decimal.Decimal(int(i == 0))  # 0 ** 0 is 1
        value = int(ctx.add(offset, power).to_integral_value(
            rounding=decimal.ROUND_FLOOR))
        points.append((delay * i, min(value, max_ms)))
    # NOTE(nova-stx): base ** steps is max - offset only up to rounding;
    # the last point is the maximum by definition.
    points.append((delay * steps, max_ms))
    return tuple(points)


def steps(ramp, max_ms, timeout_s, count, delay_s, gib):
    """Return the steps of the named ramp.

    :param ramp: one of :data:`RAMPS`; an unknown name is StarlingX's.
    :param max_ms: maximum downtime, ms.
    :param timeout_s: effective timeout, s (StarlingX's ramp only).
    :param count: ``[libvirt] live_migration_downtime_steps``.
    :param delay_s: ``[libvirt] live_migration_downtime_delay``, s per
        GiB.
    :param gib: guest data size in GiB.
    :returns: ``((seconds, ms), ...)``.
    """
    if ramp == NOVA:
        return nova_steps(max_ms, count, delay_s, gib)
    if ramp == EXPONENTIAL:
        return exponential_steps(max_ms, count, delay_s, gib)
    return starlingx_steps(max_ms, timeout_s, count,
                           _seconds(delay_s, gib))
