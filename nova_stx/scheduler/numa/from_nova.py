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

"""Converters from Nova's NUMA objects to :mod:`model`'s plain data.

They read Nova's ``NUMATopology`` (host) and ``InstanceNUMATopology``
(guest request) without importing Nova, and raise
:class:`~model.MalformedHostTopology` or :class:`~model.MalformedRequest`
with a text naming the cell and field instead of letting bad data crash a
scheduler.
"""

from nova_stx.scheduler.numa import model

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
            pool = model.PagePool(
                attrs[_ATTR + 'size_kb'], attrs[_ATTR + 'total'],
                attrs[_ATTR + 'used'], attrs.get(_ATTR + 'reserved', 0))
        except KeyError as exc:
            raise model.MalformedHostTopology(
                '%s: field mempages.%s is not set' % (
                    what, exc.args[0][len(_ATTR):]))
        if pool.size_kb < 1 or min(pool) < 0:
            raise model.MalformedHostTopology(
                '%s: page pool %r' % (what, pool))
        pools.append(pool)
    pools.sort()
    for left, right in zip(pools, pools[1:]):
        if left.size_kb == right.size_kb:
            raise model.MalformedHostTopology(
                '%s: two page pools of %d KiB' % (what, left.size_kb))
    return tuple(pools)


def _host_cell(cell):
    err = model.MalformedHostTopology
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
    new = object.__new__(model.HostCell)
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
    :returns: :class:`model.Host`, or None when the host reports no topology
    :raises model.MalformedHostTopology: a field is missing, of the wrong
        type or inconsistent (duplicate cell ids or page sizes);
        overlapping sibling sets are reported when a thread policy needs
        them
    """
    if numa_topology is None:
        return None
    try:
        cells = tuple(map(_host_cell, numa_topology.cells))
    except (AttributeError, TypeError, NotImplementedError) as exc:
        raise model.MalformedHostTopology('host NUMA topology: %s' % exc)
    ids = {c.id for c in cells}
    if len(ids) != len(cells):
        raise model.MalformedHostTopology(
            'host NUMA topology: duplicate cell ids %s' % [
                c.id for c in cells])
    return model.Host(cells)


def _guest_cell(index, cell):
    err = model.MalformedRequest
    what = 'guest cell %d' % index
    cpuset, memory, pcpuset, pagesize, policy, thread = _fields(
        cell, what, err, ('cpuset', 'memory'),
        (('pcpuset', ()), ('pagesize', None), ('cpu_policy', None),
         ('cpu_thread_policy', None)))
    if pagesize is not None:
        _int(pagesize, what, 'pagesize', err, model.PAGESIZE_ANY)
    return model.GuestCell(
        index, len(cpuset), len(pcpuset), _int(memory, what, 'memory', err),
        pagesize or None, policy, thread)


def request_from_nova(instance_numa_topology, network_metadata=None):
    """Convert Nova's ``InstanceNUMATopology`` (``RequestSpec.numa_topology``).

    :param instance_numa_topology: ``nova.objects.InstanceNUMATopology`` or
        None
    :param network_metadata: ``nova.objects.NetworkMetadata`` of the
        request (``RequestSpec.network_metadata``) or None
    :returns: :class:`model.Request`, or None when no topology is requested
    :raises model.MalformedRequest: a field is missing or of the wrong type
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
                network_metadata, 'network metadata',
                model.MalformedRequest, (),
                (('physnets', ()), ('tunneled', False)))
    except (AttributeError, TypeError, NotImplementedError) as exc:
        raise model.MalformedRequest('guest NUMA topology: %s' % exc)
    return model.Request(cells, isolated, frozenset(physnets), bool(tunneled))


def limits_from_nova(limits):
    """Convert Nova's ``NUMATopologyLimits`` (or None)."""
    if limits is None:
        return None
    return model.Limits(float(limits.cpu_allocation_ratio),
                        float(limits.ram_allocation_ratio))
