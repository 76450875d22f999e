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

"""Plain records of libvirt's live-migration job statistics.

:class:`JobSample` is one poll of a running job, built from the raw
``virDomain.jobStats()`` dict: Nova's ``JobInfo`` drops the dirty rate, the
page size and the auto-converge throttle, and never reads the iteration or
the expected downtime. :class:`Completion` is what libvirt reports about a
finished job (``jobStats(VIR_DOMAIN_JOB_STATS_COMPLETED)`` or the
``JOB_COMPLETED`` event). Both are plain data; nothing here talks to
libvirt.
"""

import dataclasses
import math
import typing as ty

#: Where a ``Completion``'s downtime came from.
FROM_EVENT = 'JOB_COMPLETED event'
FROM_JOB_STATS = 'completed-job statistics'


def _number(stats, name, default=0):
    value = stats.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    if isinstance(value, float) and not math.isfinite(value):
        return default
    return value


@dataclasses.dataclass(frozen=True)
class JobSample:
    """One poll of a running migration job."""

    #: Seconds since the monitor started, on the policy's clock.
    elapsed_s: float
    #: Guest RAM to migrate, bytes (``memory_total``).
    memory_total: int = 0
    #: RAM bytes sent so far, resent pages included (``memory_processed``).
    memory_processed: int = 0
    #: RAM bytes left in the current pass (``memory_remaining``, live).
    memory_remaining: int = 0
    #: QEMU's bandwidth over its last 100 ms window, bytes/s.
    memory_bps: float = 0.0
    #: Pages dirtied per second times the page size, bytes/s.
    dirty_bps: float = 0.0
    #: Bitmap syncs so far: the pass number (``memory_iteration``).
    iteration: int = 0
    #: QEMU's expected downtime while the job runs, ms (``downtime``).
    expected_downtime_ms: float = 0.0
    #: Percent of guest CPU time auto-converge takes away; 0: none.
    throttle_pct: int = 0
    #: Disk bytes left to copy (block migration).
    disk_remaining: int = 0
    #: Whether the job already switched to post-copy.
    post_copy: bool = False

    @classmethod
    def from_stats(cls, stats, elapsed_s, post_copy=False):
        """Build a sample from a raw ``jobStats()`` dict.

        Missing or malformed fields read as 0, as libvirt omits fields a
        job does not have yet.

        :param stats: ``{field: value}`` from ``virDomain.jobStats()``.
        :param elapsed_s: seconds since the monitor started.
        :param post_copy: whether the job runs in post-copy.
        :returns: a :class:`JobSample`.
        """
        page = _number(stats, 'memory_page_size', 4096) or 4096
        return cls(
            elapsed_s=elapsed_s,
            memory_total=int(_number(stats, 'memory_total')),
            memory_processed=int(_number(stats, 'memory_processed')),
            memory_remaining=int(_number(stats, 'memory_remaining')),
            memory_bps=float(_number(stats, 'memory_bps')),
            dirty_bps=float(_number(stats, 'memory_dirty_rate')) * page,
            iteration=int(_number(stats, 'memory_iteration')),
            expected_downtime_ms=float(_number(stats, 'downtime')),
            throttle_pct=int(_number(stats, 'auto_converge_throttle')),
            disk_remaining=int(_number(stats, 'disk_remaining')),
            post_copy=post_copy)


@dataclasses.dataclass(frozen=True)
class Completion:
    """What libvirt measured about a finished migration job."""

    #: The guest's real pause at switch-over, ms; None: not reported.
    downtime_ms: ty.Optional[float] = None
    #: Job duration, ms.
    time_elapsed_ms: ty.Optional[float] = None
    #: Bytes sent (RAM and disks).
    data_processed: ty.Optional[int] = None
    #: Passes over guest RAM.
    iterations: ty.Optional[int] = None
    #: Where the downtime came from (:data:`FROM_EVENT`,
    #: :data:`FROM_JOB_STATS`); None: nowhere.
    source: ty.Optional[str] = None

    @classmethod
    def from_stats(cls, stats, source=None):
        """Build it from completed-job stats; absent fields stay None.

        :param stats: the event's or ``jobStats()``'s dict.
        :param source: where ``stats`` came from; dropped (None) when
            they have no downtime.
        """
        def get(name):
            value = _number(stats or {}, name, None)
            return value

        processed = get('data_processed')
        if processed is None:
            processed = get('memory_processed')
        iterations = get('memory_iteration')
        downtime = get('downtime')
        return cls(downtime_ms=downtime,
                   source=None if downtime is None else source,
                   time_elapsed_ms=get('time_elapsed'),
                   data_processed=(None if processed is None
                                   else int(processed)),
                   iterations=None if iterations is None else int(iterations))
