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

"""PCI NUMA affinity through Nova's own ``PciDeviceStats``.

Nova decides PCI affinity in ``PciDeviceStats.apply_requests(requests,
provider_mapping, numa_cells)`` (``numa_policy`` required, legacy,
preferred or socket is applied there), which looks only at the ``id`` of
each fitted guest cell, i.e. at the set of host cells used. We call
exactly that, once per distinct set, on a copy of the pools.

What the answer can depend on is narrower still: after the pools are
filtered by the requests' device specs, only the NUMA node of the
remaining pools is compared with the set (and, for ``socket``, the
sockets of its cells). :class:`PciCheck` says which host cells those are,
so :mod:`~nova_stx.scheduler.numa.cell_sets` can treat all other cells as
interchangeable.
"""

import copy

from nova import exception
from nova import objects
from nova.objects import fields

SOCKET = fields.PCINUMAAffinityPolicy.SOCKET


def _relevant_cells(pci_stats, pci_requests):
    """NUMA nodes of the pools that match some request's device spec."""
    pools = pci_stats.pools
    # NOTE(nova-stx): Nova's own spec filter (the first step of its
    # _filter_pools). Without it every pool counts: a coarser split of the
    # cells, so more sets to try, but the same answers.
    by_spec = getattr(pci_stats, '_filter_pools_for_spec', None)
    nodes = set()
    for request in pci_requests:
        matching = pools if by_spec is None else by_spec(pools, request)
        nodes.update(pool.get('numa_node') for pool in matching)
    nodes.discard(None)
    return frozenset(nodes)


def _pool_copy(pool):
    pool = dict(pool)
    if 'devices' in pool:
        pool['devices'] = list(pool['devices'])
    return pool


class PciCheck:
    """Can the instance's PCI requests be met with these host cells?

    Call it with a tuple of host cell ids. Answers are memoised per set.

    :ivar relevant: host cell ids whose devices can matter
    :ivar by_socket: some request has ``numa_policy=socket``, so the
        sockets of the cells matter too
    :ivar calls: how many times Nova's decision was evaluated
    """

    def __init__(self, pci_stats, pci_requests, provider_mapping):
        self.stats = pci_stats
        self.requests = pci_requests
        self.mapping = provider_mapping
        self.relevant = _relevant_cells(pci_stats, pci_requests)
        self.by_socket = any(
            'numa_policy' in r and r.numa_policy == SOCKET
            for r in pci_requests)
        self.calls = 0
        self._seen = {}

    def __call__(self, host_cell_ids):
        key = frozenset(host_cell_ids)
        if key not in self._seen:
            self._seen[key] = self._support(sorted(key))
        return self._seen[key]

    def _support(self, ids):
        # NOTE(nova-stx): support_requests() deep-copies the whole stats
        # (devices, the host topology) to let apply_requests() consume
        # from the copy; apply_requests() only changes pool counts and
        # drops empty pools, so copying the pools is enough. A unit test
        # keeps this equal to support_requests().
        self.calls += 1
        stats = copy.copy(self.stats)
        stats.pools = [_pool_copy(pool) for pool in self.stats.pools]
        cells = [objects.InstanceNUMACell(id=i) for i in ids]
        try:
            stats.apply_requests(self.requests, self.mapping, cells)
        except exception.PciDeviceRequestFailed:
            return False
        return True


def pci_check(pci_stats, pci_requests, provider_mapping):
    """Build the ``pci`` argument of :func:`fit.fit_host`.

    :param pci_stats: ``nova.pci.stats.PciDeviceStats`` of the host
    :param pci_requests: list of ``InstancePCIRequest`` (may be empty)
    :param provider_mapping: placement mapping of the candidate, or None
    :returns: None when there is nothing to check (as Nova skips the check
        without requests or stats), else a :class:`PciCheck`
    """
    if not (pci_requests and pci_stats):
        return None
    return PciCheck(pci_stats, pci_requests, provider_mapping)
