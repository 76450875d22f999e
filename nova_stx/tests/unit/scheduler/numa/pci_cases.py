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

"""Random hosts with PCI devices and physnets, and requests needing them.

Hosts are Nova objects (``NUMATopology``, ``PciDeviceStats``); requests
are ``InstanceNUMATopology`` from Nova's ``numa_get_constraints`` with
``InstancePCIRequest`` objects and ``NetworkMetadata``. The reference
answer tries every assignment with Nova's own per-cell rule, network
check and ``PciDeviceStats.support_requests``.
"""

import itertools

from nova import objects
from nova.pci import stats
from nova.virt import hardware

from nova_stx.tests.unit.scheduler.numa import nova_objects as no

POLICIES = ('required', 'legacy', 'preferred', 'socket', None)
VENDORS = ('8086', '15b3')
PHYSNETS = ('foo', 'bar')


def host(rng, n_cells, device_share=0.3, physnet_share=0.2):
    """A host of ``n_cells`` cells (2 cores x 2 threads, some busy).

    :returns: ``(NUMATopology, PciDeviceStats)``
    """
    cells = []
    for cid in range(n_cells):
        busy = rng.random() < 0.4
        pinned = range(cid * 64, cid * 64 + 3) if busy else ()
        cells.append(no.host_cell(
            cid, 2, 2, pinned=pinned, memory=4096, socket=cid * 2 // n_cells,
            physnets={p for p in PHYSNETS if rng.random() < physnet_share},
            tunneled=rng.random() < physnet_share / 2))
    topology = no.host(*cells)
    pools = []
    for node in list(range(n_cells)) + [None]:
        if rng.random() < device_share:
            pools.append(objects.PciDevicePool(
                product_id='1520', vendor_id=rng.choice(VENDORS),
                numa_node=node, count=rng.randint(1, 2),
                tags={'dev_type': 'type-PCI'}))
    return topology, stats.PciDeviceStats(
        topology, stats=objects.PciDevicePoolList(objects=pools))


def pci_requests(rng):
    return [objects.InstancePCIRequest(
        count=rng.randint(1, 3), spec=[{'vendor_id': rng.choice(VENDORS)}],
        numa_policy=rng.choice(POLICIES), request_id=None)
        for _ in range(rng.randint(1, 2))]


def network(rng):
    if rng.random() < 0.5:
        return None
    return objects.NetworkMetadata(
        physnets={p for p in PHYSNETS if rng.random() < 0.5},
        tunneled=rng.random() < 0.3)


def request(nodes):
    """``nodes`` guest cells of 1 dedicated vCPU and 512 MiB each."""
    return no.constraints(nodes, 512 * nodes, {
        'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': str(nodes)})


def reference(topology, pci_stats, requests, instance, nova_limits,
              network_metadata):
    """Does some assignment pass every rule, checked by Nova's own code?"""
    fits = no.pair_fits(topology, instance, nova_limits)
    count = len(instance.cells)
    for perm in itertools.permutations(range(len(topology.cells)), count):
        if not all((pos, i) in fits for i, pos in enumerate(perm)):
            continue
        chosen = [topology.cells[pos] for pos in perm]
        if network_metadata is not None and not (
                hardware._numa_cells_support_network_metadata(
                    topology, chosen, network_metadata)):
            continue
        if supports(pci_stats, requests, [c.id for c in chosen]):
            return True
    return False


def supports(pci_stats, requests, cell_ids):
    """Nova's ``support_requests`` for guest cells on ``cell_ids``."""
    cells = [objects.InstanceNUMACell(id=i) for i in cell_ids]
    return pci_stats.support_requests(requests, None, cells)
