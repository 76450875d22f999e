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

"""Plain, immutable data for NUMA fitting.

The deciders (``cell_fit``, ``fit``, ``precheck``) only see these types:
ints, sets and tuples, never modified. Memory is in MiB, page sizes in
KiB, as in Nova. :mod:`~nova_stx.scheduler.numa.from_nova` builds them
from Nova's objects.
"""

import dataclasses
import typing as ty

# Nova's pagesize sentinels (nova.virt.hardware.MEMPAGES_*).
PAGESIZE_SMALL = -1
PAGESIZE_LARGE = -2
PAGESIZE_ANY = -3

SHARED = 'shared'
DEDICATED = 'dedicated'
MIXED = 'mixed'
PINNED_POLICIES = (DEDICATED, MIXED)

PREFER = 'prefer'
ISOLATE = 'isolate'
REQUIRE = 'require'

NO_SMT_FOR_REQUIRE = ("host has no SMT (hyperthreads) but the 'require' "
                      "CPU thread policy was requested")


class MalformedHostTopology(ValueError):
    """The host NUMA topology cannot be evaluated."""


class MalformedRequest(ValueError):
    """The guest NUMA request cannot be evaluated."""


class _lazy:
    """Compute an attribute on first use and keep it on the instance.

    Like ``functools.cached_property`` without its per-access lock (Python
    3.11), which costs more than most of these values.
    """

    def __init__(self, func):
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


class PagePool(ty.NamedTuple):
    """One pool of memory pages of a host cell."""

    size_kb: int
    total: int
    used: int = 0
    reserved: int = 0

    @property
    def free(self):
        return self.total - self.used - self.reserved


@dataclasses.dataclass(frozen=True)
class HostCell:
    """One host NUMA cell, as Nova's ``NUMACell`` describes it.

    ``siblings`` is a tuple of sets of CPU ids (read, never modified).
    ``mempages`` is a tuple of :class:`PagePool` sorted by page size, one
    pool per size.
    """

    id: int
    cpuset: frozenset = frozenset()
    pcpuset: frozenset = frozenset()
    siblings: tuple = ()
    pinned: frozenset = frozenset()
    memory: int = 0
    memory_usage: int = 0
    cpu_usage: int = 0
    mempages: tuple = ()
    socket: ty.Optional[int] = None
    physnets: frozenset = frozenset()
    tunneled: bool = False

    @_lazy
    def avail_pcpus(self):
        """Number of dedicated CPUs not pinned yet."""
        return len(self.pcpuset - self.pinned)

    @property
    def avail_memory(self):
        return self.memory - self.memory_usage

    @_lazy
    def threads_per_core(self):
        """Threads of the largest sibling set, as Nova counts them.

        0 when the cell reports no sibling sets at all (Nova cannot pin
        there), else at least 1.
        """
        if not self.siblings:
            return 0
        return max(map(len, self.siblings)) or 1

    @_lazy
    def free_cores(self):
        """Free dedicated threads per sibling set, empty sets left out.

        :raises MalformedHostTopology: sibling sets overlap
        """
        siblings = self.siblings
        every = frozenset().union(*siblings)
        if len(every) != sum(map(len, siblings)):
            raise MalformedHostTopology(
                'host cell %d: sibling sets overlap' % self.id)
        free = self.pcpuset - self.pinned
        if self.threads_per_core == 1:
            # NOTE(nova-stx): no SMT: one free thread per free core.
            return (1,) * len(free & every)
        return tuple(n for n in (len(s & free) for s in siblings) if n)

    @_lazy
    def full_free_cores(self):
        """Sibling sets of the largest size whose threads are all free."""
        tpc = self.threads_per_core
        if not tpc:
            return 0
        return sum(1 for n in self.free_cores if n >= tpc)

    @_lazy
    def pages(self):
        """``{size_kb: PagePool}``."""
        return {p.size_kb: p for p in self.mempages}

    @_lazy
    def page_sizes(self):
        """Page sizes, ascending."""
        return tuple(p.size_kb for p in self.mempages)


@dataclasses.dataclass(frozen=True)
class Host:
    """A host NUMA topology."""

    cells: tuple

    @_lazy
    def has_threads(self):
        return any(c.threads_per_core > 1 for c in self.cells)

    def smt_misfit(self, guest_cells):
        """Why this host cannot take pinned ``require`` cells, or None."""
        if self.has_threads or not any(
                gc.pinned and gc.cpu_thread_policy == REQUIRE
                for gc in guest_cells):
            return None
        return NO_SMT_FOR_REQUIRE


@dataclasses.dataclass(frozen=True)
class GuestCell:
    """One guest NUMA cell of a request.

    :param index: position of the cell in the request
    :param cpus: number of shared (floating) vCPUs
    :param pcpus: number of dedicated (pinned) vCPUs
    :param memory: MiB
    :param pagesize: None, a ``PAGESIZE_*`` sentinel or a size in KiB
    """

    index: int
    cpus: int = 0
    pcpus: int = 0
    memory: int = 0
    pagesize: ty.Optional[int] = None
    cpu_policy: ty.Optional[str] = None
    cpu_thread_policy: ty.Optional[str] = None

    @property
    def pinned(self):
        return self.cpu_policy in PINNED_POLICIES


@dataclasses.dataclass(frozen=True)
class Request:
    """A guest NUMA request.

    :param emulator_threads_isolated: one more pCPU is needed on the host
        cell of guest cell 0 (``hw:emulator_threads_policy=isolate``)
    :param physnets: physnets the guest's networks need NUMA affinity to
    :param tunneled: the guest has a tunneled network
    """

    cells: tuple
    emulator_threads_isolated: bool = False
    physnets: frozenset = frozenset()
    tunneled: bool = False

    def reserved_for(self, index):
        """pCPUs reserved for emulator threads next to guest cell ``index``.

        :returns: 1 for guest cell 0 with isolated emulator threads, else 0
        """
        return 1 if (self.emulator_threads_isolated and index == 0) else 0


@dataclasses.dataclass(frozen=True)
class Limits:
    """Overcommit ratios applied to shared CPUs and memory."""

    cpu_allocation_ratio: float
    ram_allocation_ratio: float


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Whether a request fits a host.

    :param fits: the answer
    :param reason: short human text when it does not fit, else None
    :param assignment: host cell id per guest cell index when it fits
    """

    fits: bool
    reason: ty.Optional[str] = None
    assignment: ty.Optional[tuple] = None
