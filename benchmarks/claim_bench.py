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

"""The compute claim on large hosts: upstream's fit against the exact one.

Builds Nova's own ``nova.compute.claims.Claim`` (what the resource
tracker does for a boot; live migration, resize and evacuation use its
``MoveClaim`` subclass and the same test) against a compute node of H
cells (16 cores x 2 threads, 1 GiB pages) for a guest of I NUMA nodes,
once with Nova's ``numa_fit_instance_to_host`` and once with
``[nova_stx] exact_numa_fit``; upstream is cut off after ``--cutoff``
seconds. "nofit": only I-1 cells have free 1 GiB pages, the case where
upstream walks every ordered choice of cells.

Usage: ``python benchmarks/claim_bench.py [--cutoff 60]``.
"""

import argparse
import logging
import signal
import time
from unittest import mock
import warnings

from nova.compute import claims
from nova import context
from nova import exception
from nova import objects
from nova.pci import stats as pci_stats
from oslo_utils import uuidutils

from nova_stx import exact_numa
from nova_stx.tests.unit.scheduler.numa import nova_objects as no

objects.register_all()


def host(cells, full_from):
    out = []
    for cid in range(cells):
        used = 64 if cid >= full_from else 0
        out.append(no.host_cell(
            cid, 16, 2, memory=131072, first_cpu=cid * 32, socket=cid // 8,
            mempages=[no.pages(4, 16777216), no.pages(no.KIB_1G, 64, used)]))
    return no.host(*out)


class _Cutoff(BaseException):
    pass


def _alarm(signum, frame):
    raise _Cutoff()


def claim_once(topology, request):
    tracker = mock.Mock()
    tracker.pci_tracker.stats = pci_stats.PciDeviceStats(topology)
    instance = objects.Instance(numa_topology=request,
                                uuid=uuidutils.generate_uuid())
    t0 = time.process_time()
    try:
        claims.Claim(context.get_admin_context(), instance, 'node', tracker,
                     objects.ComputeNode(numa_topology=topology._to_json()),
                     objects.InstancePCIRequests(requests=[]),
                     limits={'numa_topology': no.limits()})
        fitted = True
    except exception.ComputeResourcesUnavailable:
        fitted = False
    return time.process_time() - t0, fitted


def measure(topology, request, cutoff):
    signal.alarm(cutoff)
    try:
        return claim_once(topology, request)
    except _Cutoff:
        return None, None
    finally:
        signal.alarm(0)


def _fmt(seconds, cutoff):
    if seconds is None:
        return '> %d s (cut)' % cutoff
    return '%.1f ms' % (seconds * 1e3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cutoff', type=int, default=60)
    args = parser.parse_args()
    warnings.simplefilter('ignore')
    logging.disable(logging.WARNING)
    signal.signal(signal.SIGALRM, _alarm)
    print('%3s %3s %-6s %15s %8s %12s %8s' % (
        'H', 'I', 'case', 'upstream claim', 'claimed', 'exact claim',
        'claimed'))
    for cells, nodes in ((8, 8), (16, 4), (16, 8)):
        for case in ('fits', 'nofit'):
            topology = host(cells, nodes if case == 'fits' else nodes - 1)
            request = no.constraints(2 * nodes, 1024 * nodes, {
                'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': str(nodes),
                'hw:mem_page_size': '1GB'})
            exact_numa.uninstall()
            up, up_fit = measure(topology, request.obj_clone(), args.cutoff)
            exact_numa.install()
            ours, ours_fit = measure(topology, request.obj_clone(),
                                     args.cutoff)
            exact_numa.uninstall()
            print('%3d %3d %-6s %15s %8s %12s %8s' % (
                cells, nodes, case, _fmt(up, args.cutoff), up_fit,
                _fmt(ours, args.cutoff), ours_fit), flush=True)


if __name__ == '__main__':
    main()
