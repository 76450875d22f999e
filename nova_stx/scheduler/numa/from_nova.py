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

import reprlib

from oslo_versionedobjects import fields as ovo_fields

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


# NOTE(nova-stx): reading the storage skips the coercion Nova's field
# properties apply, so a stale or foreign object can hold any type here.
# Host data is checked on purpose, with a text that says what is wrong,
# rather than judged by whatever the arithmetic happens to do with it.
_SETS = (set, frozenset)
_COERCED_SET = ovo_fields.CoercedSet
_COERCED_LIST = ovo_fields.CoercedList
_LISTS = (list, tuple)
_INTS = {int}


def _malformed(what, name, value, rule):
    return model.MalformedHostTopology('%s: %s=%s is not %s' % (
        what, name, reprlib.repr(value), rule))


def _count(value, what, name):
    """A non-negative int (bool and float refused)."""
    if value.__class__ is not int:
        raise _malformed(what, name, value, 'an integer')
    if value < 0:
        raise model.MalformedHostTopology('%s: %s=%r must be >= 0' % (
            what, name, value))
    return value


def _is_cpu_ids(values):
    return set(map(type, values)) <= _INTS


def _are_sets(values):
    return all(issubclass(t, _SETS) for t in set(map(type, values)))


def _check_cpus(what, cpuset, pcpuset, pinned, siblings):
    """Raise unless the CPU fields are sets of CPU ids (siblings a list).

    Free for the containers Nova's field properties store, one pass over
    the union for other sets, field by field only to name the wrong one.
    """
    # NOTE(nova-stx): a value assigned through a field property is stored
    # as oslo.versionedobjects' CoercedSet / CoercedList, whose elements
    # the field coerced (ints, sets of ints) and keeps coercing on change.
    if (cpuset.__class__ is pcpuset.__class__ is pinned.__class__ is
            _COERCED_SET and siblings.__class__ is _COERCED_LIST):
        return
    if (isinstance(cpuset, _SETS) and isinstance(pcpuset, _SETS) and
            isinstance(pinned, _SETS) and isinstance(siblings, _LISTS) and
            _are_sets(siblings) and
            _is_cpu_ids(frozenset(cpuset).union(pcpuset, pinned,
                                                *siblings))):
        return
    for name, value in (('cpuset', cpuset), ('pcpuset', pcpuset),
                        ('pinned_cpus', pinned)):
        if not (isinstance(value, _SETS) and _is_cpu_ids(value)):
            raise _malformed(what, name, value, 'a set of CPU ids')
    raise _malformed(what, 'siblings', siblings, 'a list of sets of CPU ids')


def _pools(mempages, what):
    if not isinstance(mempages, _LISTS):
        raise _malformed(what, 'mempages', mempages, 'a list of page pools')
    pools = []
    for pages in mempages:
        try:
            attrs = vars(pages)
            pool = model.PagePool(
                attrs[_ATTR + 'size_kb'], attrs[_ATTR + 'total'],
                attrs[_ATTR + 'used'], attrs.get(_ATTR + 'reserved', 0))
        except TypeError:
            raise _malformed(what, 'mempages', mempages,
                             'a list of page pools')
        except KeyError as exc:
            raise model.MalformedHostTopology(
                '%s: field mempages.%s is not set' % (
                    what, exc.args[0][len(_ATTR):]))
        size, total, used, reserved = pool
        if not (size.__class__ is total.__class__ is used.__class__ is
                reserved.__class__ is int):
            for name, value in zip(pool._fields, pool):
                _count(value, what, 'page pool ' + name)
        if size < 1 or min(pool) < 0:
            raise model.MalformedHostTopology(
                '%s: page pool %r' % (what, pool))
        pools.append(pool)
    pools.sort()
    for left, right in zip(pools, pools[1:]):
        if left.size_kb == right.size_kb:
            raise model.MalformedHostTopology(
                '%s: two page pools of %d KiB' % (what, left.size_kb))
    return tuple(pools)


def _network(net, what):
    if net is None:
        return frozenset(), False
    attrs = getattr(net, '__dict__', None)
    if attrs is None:
        raise _malformed(what, 'network_metadata', net, 'a NetworkMetadata')
    physnets = attrs.get(_ATTR + 'physnets', ())
    tunneled = attrs.get(_ATTR + 'tunneled', False)
    if not isinstance(physnets, _SETS + _LISTS) or not set(
            map(type, physnets)) <= {str}:
        raise _malformed(what, 'network_metadata.physnets', physnets,
                         'a set of names')
    if tunneled.__class__ is not bool:
        raise _malformed(what, 'network_metadata.tunneled', tunneled,
                         'a boolean')
    return frozenset(physnets), tunneled


def _host_cell(cell):
    attrs = vars(cell)
    cell_id = attrs.get(_ATTR + 'id', '?')
    what = 'host cell %s' % (cell_id if cell_id.__class__ is int else
                             reprlib.repr(cell_id).strip("'"),)
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
        raise model.MalformedHostTopology('%s: field %s is not set' % (
            what, name))
    memory_usage = get('_obj_memory_usage', 0)
    cpu_usage = get('_obj_cpu_usage', 0)
    socket = get('_obj_socket')
    counts = (('id', cell_id), ('memory', memory),
              ('memory_usage', memory_usage), ('cpu_usage', cpu_usage))
    if not (cell_id.__class__ is memory.__class__ is memory_usage.__class__
            is cpu_usage.__class__ is int) or min(
                cell_id, memory, memory_usage, cpu_usage) < 0:
        for name, value in counts:
            _count(value, what, name)
    if socket is not None:
        _count(socket, what, 'socket')
    physnets, tunneled = _network(get('_obj_network_metadata'), what)
    # NOTE(nova-stx): fill the frozen dataclass directly; its generated
    # __init__ costs several microseconds per cell.
    new = object.__new__(model.HostCell)
    _check_cpus(what, cpuset, pcpuset, pinned, siblings)
    new.__dict__.update(
        id=cell_id, cpuset=frozenset(cpuset), pcpuset=frozenset(pcpuset),
        siblings=tuple(siblings), pinned=frozenset(pinned), memory=memory,
        memory_usage=memory_usage, cpu_usage=cpu_usage,
        mempages=_pools(mempages, what), socket=socket, physnets=physnets,
        tunneled=tunneled)
    return new


def _cells(numa_topology):
    what = 'host NUMA topology'
    try:
        cells = numa_topology.cells
    except AttributeError:
        raise model.MalformedHostTopology('%s is a %s, not a NUMATopology' % (
            what, type(numa_topology).__name__))
    except NotImplementedError:
        raise model.MalformedHostTopology('%s: field cells is not set' % what)
    if not isinstance(cells, _LISTS):
        raise _malformed(what, 'cells', cells, 'a list of cells')
    for index, cell in enumerate(cells):
        if not hasattr(cell, '__dict__'):
            raise model.MalformedHostTopology(
                '%s: cell %d is a %s, not a NUMACell' % (
                    what, index, type(cell).__name__))
    return cells


def host_from_nova(numa_topology):
    """Convert Nova's host ``NUMATopology``.

    :param numa_topology: ``nova.objects.NUMATopology`` or None
    :returns: :class:`model.Host`, or None when the host reports no topology
    :raises model.MalformedHostTopology: a field is missing, of the wrong
        type or inconsistent (duplicate cell ids or page sizes), with a
        text naming the cell, the field and the value; overlapping sibling
        sets are reported when a thread policy needs them
    """
    if numa_topology is None:
        return None
    cells = tuple(map(_host_cell, _cells(numa_topology)))
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
        (('pcpuset', frozenset()), ('pagesize', None), ('cpu_policy', None),
         ('cpu_thread_policy', None)))
    for name, value in (('cpuset', cpuset), ('pcpuset', pcpuset)):
        if not isinstance(value, _SETS) or not _is_cpu_ids(value):
            raise err('%s: %s=%s is not a set of CPU ids' % (
                what, name, reprlib.repr(value)))
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
