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

"""The exact fit in the shape of Nova's ``numa_fit_instance_to_host``.

Same arguments, same result type: an ``InstanceNUMATopology`` whose cells
carry the host cell ids, the page size and the pinning, or None. Whether
it fits and which set of host cells to use is decided as the nova-stx
filters decide (:func:`fit.fit_host`); within that set the host cells are
taken in Nova's order (``[compute]
packing_host_numa_cells_allocation_strategy``, PCI first), as Nova's own
search would take them; then each guest cell is pinned by Nova's
``hardware._numa_fit_instance_cell`` on a fresh copy. The input topology is
never modified.
"""

import threading

from nova import conf as nova_conf
from nova import exception
from nova import objects
from nova.objects import fields
from nova.virt import hardware
from oslo_log import log as logging

from nova_stx.scheduler.numa import cell_fit
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import model
from nova_stx.scheduler.numa import pci as numa_pci

LOG = logging.getLogger(__name__)
CONF = nova_conf.CONF

_local = threading.local()


def last_reason():
    """Why the last :func:`numa_fit_instance_to_host` in this thread failed.

    :returns: the reason text, or None when it fitted
    """
    return getattr(_local, 'reason', None)


def numa_fit_instance_to_host(host_topology, instance_topology,
                              provider_mapping, limits=None,
                              pci_requests=None, pci_stats=None):
    """Drop-in for ``nova.virt.hardware.numa_fit_instance_to_host``.

    :returns: ``objects.InstanceNUMATopology`` or None; the reason of a
        None is kept for :func:`last_reason`
    """
    topology, reason = fit_instance(host_topology, instance_topology,
                                    provider_mapping, limits, pci_requests,
                                    pci_stats)
    _local.reason = reason
    return topology


def nova_order(host_topology, instance_topology, pci_stats, pci_requests):
    """Host cell positions in the order Nova's search tries them."""
    cells = list(enumerate(host_topology.cells))
    if len(host_topology) <= len(instance_topology):
        return [pos for pos, _cell in cells]
    pack = CONF.compute.packing_host_numa_cells_allocation_strategy
    # NOTE(nova-stx): successive stable sorts, as Nova applies them: free
    # memory, then shared CPU usage or free pCPUs, then PCI devices.
    cells.sort(key=lambda item: item[1].avail_memory, reverse=not pack)
    if instance_topology.cells[0].cpu_policy in (
            None, fields.CPUAllocationPolicy.SHARED):
        cells.sort(key=lambda item: item[1].cpu_usage, reverse=pack)
    else:
        cells.sort(key=lambda item: len(item[1].free_pcpus),
                   reverse=not pack)
    if pci_stats:
        devices = {}
        for pool in pci_stats.pools:
            node = pool['numa_node']
            devices[node] = devices.get(node, 0) + pool['count']
        cells.sort(key=lambda item: devices.get(item[1].id, 0),
                   reverse=bool(pci_requests))
    return [pos for pos, _cell in cells]


def _pair_key(hc, gc, reserved):
    return (hc.id, gc.cpus, gc.pcpus, gc.memory, gc.pagesize, gc.cpu_policy,
            gc.cpu_thread_policy, reserved)


def _pin(host_topology, instance_topology, assignment, limits):
    """Pin each guest cell on its host cell with Nova's per-cell code.

    :returns: ``(cells, None)`` or ``(None, guest index Nova refused)``
    """
    by_id = {cell.id: cell for cell in host_topology.cells}
    isolated = instance_topology.emulator_threads_isolated
    fitted = []
    for index, (cell, host_cell_id) in enumerate(
            zip(instance_topology.cells, assignment)):
        reserved = 1 if isolated and index == 0 else 0
        try:
            got = hardware._numa_fit_instance_cell(
                by_id[host_cell_id], cell.obj_clone(), limits, reserved)
        except exception.MemoryPageSizeNotSupported:
            got = None
        if got is None:
            return None, index
        fitted.append(got)
    return fitted, None


def fit_instance(host_topology, instance_topology, provider_mapping,
                 limits=None, pci_requests=None, pci_stats=None):
    """Fit exactly; arguments as :func:`numa_fit_instance_to_host`.

    :returns: ``(InstanceNUMATopology, None)`` or ``(None, reason)``
    """
    if not (host_topology and instance_topology):
        return None, 'requires both a host and an instance NUMA topology'
    try:
        network = None
        if limits and 'network_metadata' in limits:
            network = limits.network_metadata
        host = from_nova.host_from_nova(host_topology)
        request = from_nova.request_from_nova(instance_topology, network)
    except (model.MalformedHostTopology, model.MalformedRequest) as exc:
        return None, str(exc)
    stx_limits = from_nova.limits_from_nova(limits)
    pci = numa_pci.pci_check(pci_stats, pci_requests, provider_mapping)
    ordered = model.Host(tuple(host.cells[pos] for pos in nova_order(
        host_topology, instance_topology, pci_stats, pci_requests)))
    refused = set()

    def rule(hc, gc, lim, reserved):
        if _pair_key(hc, gc, reserved) in refused:
            return ('host cell %d: Nova cannot pin guest cell %d there',
                    (hc.id, gc.index))
        return cell_fit.misfit(hc, gc, lim, reserved)

    # NOTE(nova-stx): at most one retry per (host cell, distinct guest
    # cell) pair, and only if Nova's per-cell code ever disagreed with the
    # counting rule.
    for _attempt in range(len(host.cells) * len(request.cells) + 1):
        # NOTE(nova-stx): the filter's decision, on the cells in Nova's
        # order so that its choice of cells is Nova's where it can be.
        verdict = fit.fit_host(ordered, request, stx_limits, pci, rule)
        if not verdict.fits:
            # The filter's own reason: same cells, same order, same text.
            natural = fit.fit_host(host, request, stx_limits, pci, rule)
            if not natural.fits:
                return None, natural.reason
            verdict = natural
        allowed = None
        if pci is not None or request.physnets or request.tunneled:
            allowed = frozenset(verdict.assignment)
        assignment = fit.first_assignment(ordered, request, stx_limits,
                                          allowed, rule)
        cells, index = _pin(host_topology, instance_topology, assignment,
                            limits)
        if cells is not None:
            return objects.InstanceNUMATopology(
                cells=cells,
                emulator_threads_policy=(
                    instance_topology.emulator_threads_policy
                    if 'emulator_threads_policy' in instance_topology
                    else None)), None
        hc = next(c for c in host.cells if c.id == assignment[index])
        LOG.warning('nova-stx and Nova disagree on guest cell %(guest)d on '
                    'host cell %(host)d; trying without that pair',
                    {'guest': index, 'host': hc.id})
        refused.add(_pair_key(hc, request.cells[index],
                              request.reserved_for(index)))
    return None, 'no pinning found'
