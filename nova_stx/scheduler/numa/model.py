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
ints, sets and tuples, never modified. Memory is in MiB, page sizes in
KiB, as in Nova. The converters read Nova's ``NUMATopology`` (host) and
``InstanceNUMATopology`` (guest request) without importing Nova; they
raise :class:`MalformedHostTopology` or :class:`MalformedRequest` with a
text naming the cell and field instead of letting bad data crash a
scheduler.
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


# NOTE(nova-stx): Nova's objects keep each field in the instance attribute
# '_obj_<field>' (oslo.versionedobjects' get_attrname()); their field types
# already coerced the values on assignment. Reading that storage directly
# costs a tenth of the property access, and the filter converts every host
# on every request.
_ATTR = '_obj_'


def _fields(obj, what, error, names, optional=()):
    attrs = vars(obj)
    try:
        values = [attrs[_ATTR + name] for name in names]
    except KeyError as exc:
        raise error('%s: field %s is not set' % (what,
                                                 exc.args[0][len(_ATTR):]))
    return values + [attrs.get(_ATTR + name, default)
                     for name, default in optional]


def _int(value, what, name, error, minimum=0):
    if value.__class__ is not int and (isinstance(value, bool) or
                                       not isinstance(value, int)):
        raise error('%s: %s=%r is not an integer' % (what, name, value))
    if value < minimum:
        raise error('%s: %s=%r must be >= %d' % (what, name, value, minimum))
    return value


def _negative(what, error, **values):
    for name, value in values.items():
        if value < 0:
            raise error('%s: %s=%r must be >= 0' % (what, name, value))


def _pools(mempages, what):
    pools = []
    for pages in mempages:
        attrs = vars(pages)
        try:
            pool = PagePool(attrs[_ATTR + 'size_kb'], attrs[_ATTR + 'total'],
                            attrs[_ATTR + 'used'],
                            attrs.get(_ATTR + 'reserved', 0))
        except KeyError as exc:
            raise MalformedHostTopology('%s: field mempages.%s is not set' % (
                what, exc.args[0][len(_ATTR):]))
        if pool.size_kb < 1 or min(pool) < 0:
            raise MalformedHostTopology('%s: page pool %r' % (what, pool))
        pools.append(pool)
    pools.sort()
    for left, right in zip(pools, pools[1:]):
        if left.size_kb == right.size_kb:
            raise MalformedHostTopology('%s: two page pools of %d KiB' % (
                what, left.size_kb))
    return tuple(pools)


def _host_cell(cell):
    err = MalformedHostTopology
    attrs = vars(cell)
    what = 'host cell %s' % (attrs.get(_ATTR + 'id', '?'),)
    get = attrs.get
    try:
        cell_id = attrs['_obj_id']
        cpuset = attrs['_obj_cpuset']
        pcpuset = attrs['_obj_pcpuset']
        pinned = attrs['_obj_pinned_cpus']
        siblings = attrs['_obj_siblings']
        memory = attrs['_obj_memory']
        mempages = attrs['_obj_mempages']
    except KeyError as exc:
        name = exc.args[0][len(_ATTR):]
        raise err('%s: field %s is not set' % (what, name))
    memory_usage = get('_obj_memory_usage', 0)
    cpu_usage = get('_obj_cpu_usage', 0)
    socket = get('_obj_socket')
    net = get('_obj_network_metadata')
    _negative(what, err, id=cell_id, memory=memory,
              memory_usage=memory_usage, cpu_usage=cpu_usage)
    physnets, tunneled = frozenset(), False
    if net is not None:
        physnets, tunneled = _fields(net, what, err, (),
                                     (('physnets', ()), ('tunneled', False)))
        physnets = frozenset(physnets)
    # NOTE(nova-stx): fill the frozen dataclass directly; its generated
    # __init__ costs several microseconds per cell.
    new = object.__new__(HostCell)
    new.__dict__.update(
        id=cell_id, cpuset=frozenset(cpuset), pcpuset=frozenset(pcpuset),
        siblings=tuple(siblings), pinned=frozenset(pinned), memory=memory,
        memory_usage=memory_usage, cpu_usage=cpu_usage,
        mempages=_pools(mempages, what), socket=socket, physnets=physnets,
        tunneled=bool(tunneled))
    return new


def host_from_nova(numa_topology):
    """Convert Nova's host ``NUMATopology``.

    :param numa_topology: ``nova.objects.NUMATopology`` or None
    :returns: :class:`Host`, or None when the host reports no topology
    :raises MalformedHostTopology: a field is missing, of the wrong type or
        inconsistent (duplicate cell ids or page sizes); overlapping sibling
        sets are reported when a thread policy needs them
    """
    if numa_topology is None:
        return None
    try:
        cells = tuple(map(_host_cell, numa_topology.cells))
    except (AttributeError, TypeError, NotImplementedError) as exc:
        raise MalformedHostTopology('host NUMA topology: %s' % exc)
    ids = {c.id for c in cells}
    if len(ids) != len(cells):
        raise MalformedHostTopology('host NUMA topology: duplicate cell ids '
                                    '%s' % [c.id for c in cells])
    return Host(cells)


def _guest_cell(index, cell):
    err = MalformedRequest
    what = 'guest cell %d' % index
    cpuset, memory, pcpuset, pagesize, policy, thread = _fields(
        cell, what, err, ('cpuset', 'memory'),
        (('pcpuset', ()), ('pagesize', None), ('cpu_policy', None),
         ('cpu_thread_policy', None)))
    if pagesize is not None:
        _int(pagesize, what, 'pagesize', err, PAGESIZE_ANY)
    return GuestCell(index, len(cpuset), len(pcpuset),
                     _int(memory, what, 'memory', err), pagesize or None,
                     policy, thread)


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
            physnets, tunneled = _fields(
                network_metadata, 'network metadata', MalformedRequest, (),
                (('physnets', ()), ('tunneled', False)))
    except (AttributeError, TypeError, NotImplementedError) as exc:
        raise MalformedRequest('guest NUMA topology: %s' % exc)
    return Request(cells, isolated, frozenset(physnets), bool(tunneled))


def limits_from_nova(limits):
    """Convert Nova's ``NUMATopologyLimits`` (or None)."""
    if limits is None:
        return None
    return Limits(float(limits.cpu_allocation_ratio),
                  float(limits.ram_allocation_ratio))
