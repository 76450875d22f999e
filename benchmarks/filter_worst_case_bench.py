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

"""Worst-case CPU time per host of every nova-stx filter path.

Each row is one filter on one host through Nova's ``HostFilterHandler``,
on the request that makes that filter's path most expensive: a host that
*almost* fits (so nothing cheap rejects it early), with 8 to 64 host
cells. Upstream's ``NUMATopologyFilter`` runs on the same host and
request, cut off after ``--cutoff`` seconds. The host's topology is
converted anew for every call (a cold scheduler), so conversion is
included.

Paths: one guest node; eight guest nodes that cannot be matched (the
matching); network NUMA affinity that no usable cell set meets; a PCI
request with ``numa_policy=required`` and several guest nodes, on a host
with no PCI device (the tenant-reachable stall of issue 10), with the
devices on one cell that is full, and with devices on every cell; the
hugepage and CPU-pinning prechecks; the vCPU model filter.

Usage: ``python benchmarks/filter_worst_case_bench.py [--cells 8,16,32,64]
[--cutoff 10] [--budget 0.2]``. CPU time (``time.process_time``), the
minimum over repetitions that fit in ``--budget`` seconds.
"""

import argparse
import logging
import signal
import time
import warnings

from nova import objects
from nova.pci import stats as pci_stats
from nova.scheduler import filters as nova_filters
from nova.scheduler import host_manager
from nova.scheduler.filters import numa_topology_filter

from nova_stx import keys
from nova_stx.explain import report
from nova_stx.scheduler.filters import conversions
from nova_stx.scheduler.filters import cpu_pinning_filter
from nova_stx.scheduler.filters import hugepage_filter
from nova_stx.scheduler.filters import numa_topology_filter as stx_numa
from nova_stx.scheduler.filters import vcpu_model_filter
from nova_stx.tests.unit.scheduler.numa import nova_objects as no

objects.register_all()

CORES = 8
PHYSNET = 'physnet0'


def _cells(count, full_from=1, physnet_on=None):
    """``count`` cells of 8 cores x 2 threads, 16 GiB, 2 MiB pages.

    Cells from ``full_from`` on have only 2 free pCPUs; ``physnet_on``
    cell ids carry the physnet.
    """
    cells = []
    for cid in range(count):
        pinned = ()
        if cid >= full_from:
            pinned = range(cid * 64, cid * 64 + 2 * CORES - 2)
        cells.append(no.host_cell(
            cid, CORES, 2, pinned=pinned, memory=16384,
            mempages=[no.pages(no.KIB_4K, 2 * 262144),
                      no.pages(no.KIB_2M, 4096)],
            socket=cid * 2 // count,
            physnets=(PHYSNET,) if cid in (physnet_on or ()) else ()))
    return no.host(*cells)


def _pools(devices_on, vendor='8086'):
    return [objects.PciDevicePool(
        product_id='1520', vendor_id=vendor, numa_node=cid, count=1,
        tags={'dev_type': 'type-VF', 'physical_network': PHYSNET})
        for cid in devices_on]


def host(count, full_from=1, physnet_on=None, devices_on=(),
         other_devices_on=()):
    topology = _cells(count, full_from, physnet_on)
    state = host_manager.HostState('bench-%d' % count, 'bench', None)
    state.numa_topology = topology
    pools = _pools(devices_on) + _pools(other_devices_on, vendor='15b3')
    state.pci_stats = pci_stats.PciDeviceStats(
        topology, stats=objects.PciDevicePoolList(objects=pools))
    state.cpu_info = report.fleet.host_state(
        {'name': 'x', 'cells': [], 'cpu': {
            'model': 'Skylake-Server', 'vendor': 'Intel',
            'features': ['vmx']}}).cpu_info
    state.cpu_allocation_ratio = 16.0
    state.ram_allocation_ratio = 1.5
    state.allocation_candidates = [{'mappings': {}}]
    return state


def spec(nodes, vcpus_per_node=4, pci=False, physnet=False, devices=1,
         **extra):
    props = {'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': str(nodes)}
    props.update(extra)
    request, _notes = report.build_request(
        props, None, vcpus_per_node * nodes, 1024 * nodes)
    if pci:
        request.pci_requests = objects.InstancePCIRequests(requests=[
            objects.InstancePCIRequest(
                count=devices, spec=[{'vendor_id': '8086'}],
                numa_policy='required', request_id=None)])
    if physnet:
        request.network_metadata = objects.NetworkMetadata(
            physnets={PHYSNET}, tunneled=False)
    return request


def cases(count):
    """(name, filter class, host, spec) of the worst paths at ``count``."""
    n2, n8 = min(2, count), min(8, count)
    return [
        ('NUMA, 1 node, fits nowhere', stx_numa.StxNUMATopologyFilter,
         host(count, full_from=0), spec(1)),
        ('NUMA, 8 nodes, no matching', stx_numa.StxNUMATopologyFilter,
         host(count, full_from=n8 - 1), spec(n8)),
        ('NUMA, 2 nodes, physnet on a full cell',
         stx_numa.StxNUMATopologyFilter,
         host(count, full_from=count - 1, physnet_on=(count - 1,)),
         spec(n2, physnet=True)),
        ('NUMA+PCI required, 2 nodes, no device',
         stx_numa.StxNUMATopologyFilter, host(count, full_from=count),
         spec(n2, pci=True)),
        ('NUMA+PCI required, 8 nodes, no device',
         stx_numa.StxNUMATopologyFilter, host(count, full_from=count),
         spec(n8, pci=True)),
        ('NUMA+PCI required, 2 nodes, device on full cell',
         stx_numa.StxNUMATopologyFilter,
         host(count, full_from=count - 1, devices_on=(count - 1,)),
         spec(n2, pci=True)),
        ('NUMA+PCI required, 2 nodes, other devices everywhere',
         stx_numa.StxNUMATopologyFilter,
         host(count, full_from=count, other_devices_on=range(count)),
         spec(n2, pci=True)),
        ('NUMA+PCI required, 4 nodes, devices everywhere, physnet on '
         'a full cell', stx_numa.StxNUMATopologyFilter,
         host(count, full_from=count - 1, devices_on=range(count),
              physnet_on=(count - 1,)),
         spec(min(4, count), pci=True, physnet=True)),
        ('NUMA+PCI required, 2 nodes, 3 devices, one on every cell',
         stx_numa.StxNUMATopologyFilter,
         host(count, full_from=count, devices_on=range(count)),
         spec(n2, pci=True, devices=3)),
        ('hugepages, 8 nodes, no matching', hugepage_filter.StxHugepageFilter,
         host(count, full_from=count), spec(n8, **{
             'hw:mem_page_size': '1GB'})),
        ('pinning, 8 nodes, no matching',
         cpu_pinning_filter.StxCPUPinningFilter,
         host(count, full_from=n8 - 1), spec(n8)),
        ('vCPU model', vcpu_model_filter.StxVCpuModelFilter,
         host(count), spec(1, **{keys.CPU_MODEL.flavor: 'Icelake-Server'})),
    ]


class _Cutoff(BaseException):
    """Raised by the alarm; not an Exception, so no filter swallows it."""


def _alarm(signum, frame):
    raise _Cutoff()


def run_once(filter_obj, state, request):
    vars(state).pop(conversions._HOST_ATTR, None)
    # NOTE(nova-stx): a filter that rejects empties the candidates.
    state.allocation_candidates = [{'mappings': {}}]
    state.limits = {}
    handler = nova_filters.HostFilterHandler()
    t0 = time.process_time()
    left = handler.get_filtered_objects([filter_obj], [state], request)
    return time.process_time() - t0, bool(left)


def measure(filter_obj, state, request, budget, cutoff):
    """(best seconds, passed) or (None, None) when cut off."""
    signal.alarm(cutoff)
    try:
        once, passed = run_once(filter_obj, state, request)
    except _Cutoff:
        return None, None
    finally:
        signal.alarm(0)
    best = once
    reps = int(budget / max(once, 1e-6))
    for _ in range(min(reps, 200)):
        best = min(best, run_once(filter_obj, state, request)[0])
    return best, passed


def _fmt(seconds, cutoff):
    if seconds is None:
        return '> %d s (cut)' % cutoff
    if seconds >= 1:
        return '%.2f s' % seconds
    if seconds >= 1e-3:
        return '%.2f ms' % (seconds * 1e3)
    return '%.0f µs' % (seconds * 1e6)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cells', default='8,16,32,64')
    parser.add_argument('--cutoff', type=int, default=10,
                        help='seconds before one call is cut off')
    parser.add_argument('--budget', type=float, default=0.2,
                        help='seconds of repetitions per row')
    parser.add_argument('--no-upstream', action='store_true')
    args = parser.parse_args()
    warnings.simplefilter('ignore')
    logging.disable(logging.INFO)
    signal.signal(signal.SIGALRM, _alarm)
    upstream = numa_topology_filter.NUMATopologyFilter()
    print('%-62s %5s %13s %6s %13s' % (
        'path (CPU time per host, conversion included)', 'cells',
        'nova-stx', 'passed', 'upstream NUMA'))
    for count in (int(c) for c in args.cells.split(',')):
        for name, cls, state, request in cases(count):
            ours, passed = measure(cls(), state, request, args.budget,
                                   args.cutoff)
            up = '-'
            if cls is stx_numa.StxNUMATopologyFilter and not args.no_upstream:
                seconds, _ = measure(upstream, state, request, args.budget,
                                     args.cutoff)
                up = _fmt(seconds, args.cutoff)
            print('%-62s %5d %13s %6s %13s' % (
                name, count, _fmt(ours, args.cutoff), passed, up),
                flush=True)


if __name__ == '__main__':
    main()
