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

"""Converted host topologies kept across scheduling requests.

Nova 34's scheduler builds new ``HostState`` and ``NUMATopology``
objects from the database for every request, so a conversion kept on the
HostState lives for one request only. Most hosts report the same
topology request after request; this cache keeps each compute node's
converted :class:`model.Host` and reuses it when every value the
conversion reads (:mod:`from_nova`) is unchanged, same value and same
type. Comparing costs a fraction of converting; any difference converts
anew, with all of the conversion's checks. It never answers from data
that differs from what Nova reports now, so it changes no decision.

It holds at most ``size`` compute nodes, least recently used dropped
first.
"""

import collections
import threading

from oslo_versionedobjects import fields as ovo_fields

from nova_stx.scheduler.numa import from_nova

# NOTE(nova-stx): containers stored by Nova's field properties, whose
# elements the fields coerced (CPU ids are ints, physnets strings). Other
# containers (an object built around the properties) are converted anew,
# so the conversion's own checks judge them.
_COERCED_SET = ovo_fields.CoercedSet
_COERCED_LIST = ovo_fields.CoercedList


def _cell_unchanged(cell, hc):
    """Does Nova's ``NUMACell`` still say what ``hc`` was made from?

    :raises KeyError: a field the conversion needs is not set
    """
    attrs = cell.__dict__
    get = attrs.get
    ints = (attrs['_obj_id'], attrs['_obj_memory'],
            get('_obj_memory_usage', 0), get('_obj_cpu_usage', 0))
    pinned, pcpuset, cpuset = (attrs['_obj_pinned_cpus'],
                               attrs['_obj_pcpuset'], attrs['_obj_cpuset'])
    siblings, socket = attrs['_obj_siblings'], get('_obj_socket')
    if (ints != (hc.id, hc.memory, hc.memory_usage, hc.cpu_usage) or
            pinned != hc.pinned or pcpuset != hc.pcpuset or
            cpuset != hc.cpuset or socket != hc.socket):
        return False
    # NOTE(nova-stx): equal is not enough: True == 1.
    a, b, c, d = ints
    if not (a.__class__ is b.__class__ is c.__class__ is d.__class__ is int
            and pinned.__class__ is pcpuset.__class__ is cpuset.__class__
            is _COERCED_SET and siblings.__class__ is _COERCED_LIST and
            (socket is None or socket.__class__ is int)):
        return False
    if tuple(siblings) != hc.siblings:
        return False
    # NOTE(nova-stx): pools in another order than the converted (sorted)
    # ones just convert anew.
    pages = attrs['_obj_mempages']
    pools = hc.mempages
    if len(pages) != len(pools):
        return False
    for page, pool in zip(pages, pools):
        p = page.__dict__
        size, total, used, reserved = values = (
            p['_obj_size_kb'], p['_obj_total'], p['_obj_used'],
            p.get('_obj_reserved', 0))
        if values != pool or not (size.__class__ is total.__class__ is
                                  used.__class__ is reserved.__class__ is
                                  int):
            return False
    net = get('_obj_network_metadata')
    if net is None:
        return not hc.physnets and not hc.tunneled
    n = net.__dict__
    physnets = n.get('_obj_physnets', frozenset())
    tunneled = n.get('_obj_tunneled', False)
    return (physnets == hc.physnets and tunneled is hc.tunneled and
            physnets.__class__ in (_COERCED_SET, frozenset))


def unchanged(topology, host):
    """Is ``host`` the conversion of ``topology`` as it is now?"""
    cells = getattr(topology, '_obj_cells', None)
    if cells is None or len(cells) != len(host.cells):
        return False
    try:
        for cell, hc in zip(cells, host.cells):
            if not _cell_unchanged(cell, hc):
                return False
    except (KeyError, AttributeError, TypeError):
        # NOTE(nova-stx): let the conversion say what is wrong.
        return False
    return True


class HostCache:
    """``compute node uuid -> model.Host``, checked on every use."""

    def __init__(self, size):
        self.size = size
        self._hosts = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def host(self, uuid, topology):
        """Convert ``topology`` (Nova's ``NUMATopology``) or reuse.

        :param uuid: the compute node's uuid, or None (not cached)
        :raises model.MalformedHostTopology: as :func:`from_nova.
            host_from_nova`
        """
        if uuid is None or not self.size or topology is None:
            return from_nova.host_from_nova(topology)
        cached = self._hosts.get(uuid)
        if cached is not None and unchanged(topology, cached):
            self.hits += 1
            with self._lock:
                if uuid in self._hosts:
                    self._hosts.move_to_end(uuid)
            return cached
        self.misses += 1
        host = from_nova.host_from_nova(topology)
        with self._lock:
            self._hosts[uuid] = host
            self._hosts.move_to_end(uuid)
            while len(self._hosts) > self.size:
                self._hosts.popitem(last=False)
        return host

    def __len__(self):
        return len(self._hosts)
