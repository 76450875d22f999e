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

"""Plain, immutable data for NUMA fitting, and converters from Nova objects.

The deciders (``cell_fit``, ``fit``, ``precheck``) only see these types:
ints, frozensets and tuples. Memory is in MiB, page sizes in KiB, as in
Nova. The converters read Nova's ``NUMATopology`` (host) and
``InstanceNUMATopology`` (guest request) by attribute, so this module does
not import Nova; they raise :class:`MalformedHostTopology` or
:class:`MalformedRequest` with a text naming the cell and field instead of
letting bad data crash a scheduler.
"""

import dataclasses
import functools
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


class MalformedHostTopology(ValueError):
    """The host NUMA topology cannot be evaluated."""


class MalformedRequest(ValueError):
    """The guest NUMA request cannot be evaluated."""


@dataclasses.dataclass(frozen=True)
class PagePool:
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

    ``mempages`` is sorted by page size, one pool per size.
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

    @functools.cached_property
    def free_pcpus(self):
        return self.pcpuset - self.pinned

    @functools.cached_property
    def avail_pcpus(self):
        return len(self.free_pcpus)

    @functools.cached_property
    def avail_memory(self):
        return self.memory - self.memory_usage

    @functools.cached_property
    def threads_per_core(self):
        """Threads of the largest sibling set, as Nova counts them.

        0 when the cell reports no sibling sets at all (Nova cannot pin
        there), else at least 1.
        """
        if not self.siblings:
            return 0
        return max(len(s) for s in self.siblings) or 1

    @functools.cached_property
    def free_cores(self):
        """Free dedicated threads per sibling set, empty sets left out."""
        free = self.free_pcpus
        return tuple(n for n in (len(s & free) for s in self.siblings) if n)

    @functools.cached_property
    def full_free_cores(self):
        """Sibling sets of the largest size whose threads are all free."""
        tpc = self.threads_per_core
        if not tpc:
            return 0
        return sum(1 for n in self.free_cores if n >= tpc)

    @functools.cached_property
    def pages(self):
        """``{size_kb: PagePool}``."""
        return {p.size_kb: p for p in self.mempages}

    @functools.cached_property
    def page_sizes(self):
        """Page sizes, ascending."""
        return tuple(p.size_kb for p in self.mempages)


@dataclasses.dataclass(frozen=True)
class Host:
    """A host NUMA topology."""

    cells: tuple

    @functools.cached_property
    def has_threads(self):
        return any(len(s) > 1 for c in self.cells for s in c.siblings)


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


def _get(obj, name, what, error, default=None, required=True):
    if not obj.obj_attr_is_set(name):
        if required:
            raise error('%s: field %s is not set' % (what, name))
        return default
    return getattr(obj, name)


def _int(value, what, name, error, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int):
        raise error('%s: %s=%r is not an integer' % (what, name, value))
    if value < minimum:
        raise error('%s: %s=%r must be >= %d' % (what, name, value, minimum))
    return value


def _cpus(value, what, name, error):
    try:
        cpus = frozenset(value)
    except TypeError:
        raise error('%s: %s=%r is not a set of CPUs' % (what, name, value))
    for cpu in cpus:
        _int(cpu, what, name, error)
    return cpus


def _host_cell(cell):
    err = MalformedHostTopology
    cell_id = _int(_get(cell, 'id', 'host cell', err), 'host cell', 'id', err)
    what = 'host cell %d' % cell_id
    siblings = tuple(_cpus(s, what, 'siblings', err)
                     for s in _get(cell, 'siblings', what, err))
    seen = set()
    for sib in siblings:
        if seen & sib:
            raise err('%s: siblings %s overlap' % (what, sorted(seen & sib)))
        seen |= sib
    pools = {}
    for pages in _get(cell, 'mempages', what, err):
        size = _int(pages.size_kb, what, 'mempages.size_kb', err, 1)
        if size in pools:
            raise err('%s: two page pools of %d KiB' % (what, size))
        pools[size] = PagePool(
            size, _int(pages.total, what, 'mempages.total', err),
            _int(pages.used, what, 'mempages.used', err),
            _int(pages.reserved if pages.obj_attr_is_set('reserved') else 0,
                 what, 'mempages.reserved', err))
    physnets, tunneled = frozenset(), False
    net = _get(cell, 'network_metadata', what, err, required=False)
    if net is not None:
        if net.obj_attr_is_set('physnets'):
            physnets = frozenset(net.physnets)
        tunneled = bool(net.obj_attr_is_set('tunneled') and net.tunneled)
    return HostCell(
        id=cell_id,
        cpuset=_cpus(_get(cell, 'cpuset', what, err), what, 'cpuset', err),
        pcpuset=_cpus(_get(cell, 'pcpuset', what, err), what, 'pcpuset',
                      err),
        siblings=siblings,
        pinned=_cpus(_get(cell, 'pinned_cpus', what, err), what,
                     'pinned_cpus', err),
        memory=_int(_get(cell, 'memory', what, err), what, 'memory', err),
        memory_usage=_int(_get(cell, 'memory_usage', what, err, 0, False),
                          what, 'memory_usage', err),
        cpu_usage=_int(_get(cell, 'cpu_usage', what, err, 0, False), what,
                       'cpu_usage', err),
        mempages=tuple(pools[s] for s in sorted(pools)),
        socket=_get(cell, 'socket', what, err, required=False),
        physnets=physnets,
        tunneled=tunneled)


def host_from_nova(numa_topology):
    """Convert Nova's host ``NUMATopology``.

    :param numa_topology: ``nova.objects.NUMATopology`` or None
    :returns: :class:`Host`, or None when the host reports no topology
    :raises MalformedHostTopology: a field is missing, of the wrong type or
        inconsistent (overlapping siblings, duplicate cell ids or page sizes)
    """
    if numa_topology is None:
        return None
    try:
        cells = tuple(_host_cell(c) for c in numa_topology.cells)
    except (AttributeError, TypeError) as exc:
        raise MalformedHostTopology('host NUMA topology: %s' % exc)
    ids = [c.id for c in cells]
    if len(set(ids)) != len(ids):
        raise MalformedHostTopology('host NUMA topology: duplicate cell ids '
                                    '%s' % ids)
    return Host(cells)


def _guest_cell(index, cell):
    err = MalformedRequest
    what = 'guest cell %d' % index
    pagesize = _get(cell, 'pagesize', what, err, required=False)
    if pagesize is not None:
        pagesize = _int(pagesize, what, 'pagesize', err, PAGESIZE_ANY)
    return GuestCell(
        index=index,
        cpus=len(_cpus(_get(cell, 'cpuset', what, err), what, 'cpuset',
                       err)),
        pcpus=len(_cpus(_get(cell, 'pcpuset', what, err, (), False), what,
                        'pcpuset', err)),
        memory=_int(_get(cell, 'memory', what, err), what, 'memory', err),
        pagesize=pagesize or None,
        cpu_policy=_get(cell, 'cpu_policy', what, err, required=False),
        cpu_thread_policy=_get(cell, 'cpu_thread_policy', what, err,
                               required=False))


def request_from_nova(instance_numa_topology, network_metadata=None):
    """Convert Nova's ``InstanceNUMATopology`` (``RequestSpec.numa_topology``).

    :param instance_numa_topology: ``nova.objects.InstanceNUMATopology`` or
        None
    :param network_metadata: ``nova.objects.NetworkMetadata`` of the
        request (``RequestSpec.network_metadata``) or None
    :returns: :class:`Request`, or None when no topology is requested
    :raises MalformedRequest: a field is missing or of the wrong type
    """
    if instance_numa_topology is None:
        return None
    try:
        cells = tuple(_guest_cell(i, c)
                      for i, c in enumerate(instance_numa_topology.cells))
        isolated = bool(instance_numa_topology.emulator_threads_isolated)
        physnets, tunneled = frozenset(), False
        if network_metadata is not None:
            if network_metadata.obj_attr_is_set('physnets'):
                physnets = frozenset(network_metadata.physnets)
            tunneled = bool(network_metadata.obj_attr_is_set('tunneled') and
                            network_metadata.tunneled)
    except (AttributeError, TypeError) as exc:
        raise MalformedRequest('guest NUMA topology: %s' % exc)
    return Request(cells, isolated, physnets, tunneled)


def limits_from_nova(limits):
    """Convert Nova's ``NUMATopologyLimits`` (or None)."""
    if limits is None:
        return None
    return Limits(float(limits.cpu_allocation_ratio),
                  float(limits.ram_allocation_ratio))
