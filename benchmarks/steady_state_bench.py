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

"""A scheduler in steady state: upstream's NUMA filter against nova-stx's.

Nova's real ``HostManager`` builds its ``HostState`` objects from
``ComputeNode`` records for every request (``_get_host_states``, as
``get_host_states_by_uuids`` does after reading the database; the reads
are left out). Between requests a fraction of the compute nodes report
new usage (``--refresh``), as the resource tracker's periodic task and
claims do. Each request of a mix (no NUMA, shared NUMA, pinned, hugepages,
multi-node, multi-instance, PCI) is filtered through Nova's
``HostFilterHandler`` twice on fresh host states: by upstream's
``NUMATopologyFilter`` and by the nova-stx chain (vCPU model, hugepage,
CPU pinning, NUMA topology); then, per instance, the first host left is
consumed (``HostState.consume_from_request``) with upstream's fit and
with ``[nova_stx] exact_numa_fit``. A multi-instance request is filtered
again after each instance, as Nova does.

Printed per request type and for the whole mix: CPU µs per host of
Nova's own host-state building (paid by both, not in the ratio), of
each filter pass and of the accounting, and the ratio, all from one run;
then the memory nova-stx keeps per host.

Usage: ``python benchmarks/steady_state_bench.py [--hosts 1000]
[--requests 40] [--each 0] [--refresh 0.02] [--upstream-every 1]
[--seed 42]``. ``--each N`` adds every request type N times. With
``--hosts 10000`` upstream takes 10 s to minutes of CPU per request: use
``--each 1 --requests 0``, or ``--upstream-every 4`` to run it on every
fourth request only (the ratios compare the requests both ran).
"""

import argparse
import collections
import datetime
import gc
import json
import logging
import random
import sys
import time
import tracemalloc
from unittest import mock
import warnings

from nova import conf as nova_conf
from nova import context as nova_context
from nova import objects
from nova.scheduler.filters import numa_topology_filter
from nova.scheduler import host_manager
from oslo_utils import uuidutils

from nova_stx import exact_numa
from nova_stx.explain import report
from nova_stx.scheduler.filters import conversions
from nova_stx.scheduler.numa import host_cache
from nova_stx.tests.unit.scheduler.numa import nova_objects as no

CONF = nova_conf.CONF
CELL_UUID = uuidutils.generate_uuid()
STX_FILTERS = ['StxVCpuModelFilter', 'StxHugepageFilter',
               'StxCPUPinningFilter', 'StxNUMATopologyFilter']
MODELS = ('Haswell', 'Skylake-Server', 'Cascadelake-Server',
          'Icelake-Server')
KIB_2M, KIB_1G = no.KIB_2M, no.KIB_1G


class Host:
    """One compute node: its fixed shape and its current usage."""

    def __init__(self, rng, index):
        self.rng = rng
        self.name = 'compute-%05d' % index
        self.uuid = uuidutils.generate_uuid()
        self.n_cells = rng.choice([1, 2, 2, 2, 4, 4, 8])
        self.threads = rng.choice([1, 2, 2])
        self.cores = rng.choice([4, 8, 12])
        self.shared_cores = rng.choice([0, 1, 2])
        self.gib = rng.choice([16, 32, 64])
        self.frac_2m, self.frac_1g = rng.choice(
            [(0.25, 0.5), (0.5, 0.0), (0.0, 0.5), (0.0, 0.0)])
        self.pci_cells = sorted(rng.sample(
            range(self.n_cells), min(self.n_cells, 2))) if (
            rng.random() < 0.2) else []
        self.model = rng.choice(MODELS)
        self.load = rng.uniform(0.1, 0.9)
        self.updated_at = datetime.datetime(2026, 1, 1,
                                            tzinfo=datetime.timezone.utc)
        self.usage = [self._random_usage() for _ in range(self.n_cells)]

    def _random_usage(self):
        rng, load = self.rng, self.load
        return (rng.random() * load, rng.random() * load,
                rng.random() * load)

    def refresh(self, now):
        """New usage on one cell, as after a claim or the periodic task."""
        self.usage[self.rng.randrange(self.n_cells)] = self._random_usage()
        self.updated_at = now

    def topology(self):
        cells = []
        per = self.cores * self.threads
        for cid, (cpu_load, mem_load, page_load) in enumerate(self.usage):
            kib = self.gib * KIB_1G
            n1g = int(kib * self.frac_1g) // KIB_1G
            n2m = int(kib * self.frac_2m) // KIB_2M
            n4k = (kib - n1g * KIB_1G - n2m * KIB_2M) // 4
            first = cid * per
            dedicated = range(first + self.shared_cores * self.threads,
                              first + per)
            pinned = [c for c in dedicated if (c * 7919 % 97) / 97 < cpu_load]
            cells.append(no.host_cell(
                cid, self.cores, self.threads, self.shared_cores,
                pinned=pinned, memory=self.gib * 1024,
                memory_usage=int(self.gib * 1024 * mem_load),
                cpu_usage=int(self.shared_cores * self.threads * 4 *
                              cpu_load),
                first_cpu=first, socket=cid * 2 // self.n_cells,
                mempages=[no.pages(4, n4k, int(n4k * mem_load)),
                          no.pages(KIB_2M, n2m, int(n2m * page_load)),
                          no.pages(KIB_1G, n1g, int(n1g * page_load))]))
        return no.host(*cells)

    def compute_node(self):
        topology = self.topology()
        pools = [objects.PciDevicePool(
            product_id='1520', vendor_id='8086', numa_node=cid, count=4,
            tags={'dev_type': 'type-VF', 'physical_network': 'physnet0'})
            for cid in self.pci_cells]
        mem = self.gib * 1024 * self.n_cells
        vcpus = self.cores * self.threads * self.n_cells
        return objects.ComputeNode(
            uuid=self.uuid, host=self.name, hypervisor_hostname=self.name,
            memory_mb=mem, free_ram_mb=mem // 2, memory_mb_used=mem // 2,
            vcpus=vcpus, vcpus_used=vcpus // 2, local_gb=1000,
            local_gb_used=100, free_disk_gb=900, disk_available_least=900,
            updated_at=self.updated_at, numa_topology=topology._to_json(),
            pci_device_pools=objects.PciDevicePoolList(objects=pools),
            host_ip='10.0.0.1', hypervisor_type='QEMU',
            hypervisor_version=7002000, cpu_info=json.dumps({
                'arch': 'x86_64', 'model': self.model, 'vendor': 'Intel',
                'topology': {'sockets': 1, 'cores': self.cores,
                             'threads': self.threads},
                'features': ['vmx', 'sse4.2', 'avx2']}),
            supported_hv_specs=[], stats={}, metrics='[]',
            cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0,
            disk_allocation_ratio=1.0)


DED = {'hw:cpu_policy': 'dedicated'}

#: (name, weight in the mix, flavor extra specs, vCPUs, MiB, instances,
#: PCI devices)
REQUESTS = [
    ('no NUMA', 4, {}, 2, 2048, 1, 0),
    ('shared, 1 node', 2, {'hw:numa_nodes': '1'}, 4, 4096, 1, 0),
    ('pinned', 3, DED, 4, 4096, 1, 0),
    ('pinned, 2M pages', 2, dict(DED, **{'hw:mem_page_size': '2MB'}), 4,
     4096, 1, 0),
    ('pinned, 2 nodes, 1G, require', 1, dict(DED, **{
        'hw:numa_nodes': '2', 'hw:mem_page_size': '1GB',
        'hw:cpu_thread_policy': 'require'}), 8, 8192, 1, 0),
    ('NUMA-heavy: 4 nodes, large, emulator isolate', 1, dict(DED, **{
        'hw:numa_nodes': '4', 'hw:mem_page_size': 'large',
        'hw:emulator_threads_policy': 'isolate'}), 16, 16384, 1, 0),
    ('pinned x3 instances, large', 1, dict(DED, **{
        'hw:mem_page_size': 'large'}), 4, 4096, 3, 0),
    ('pinned, 2 nodes, 1 VF', 1, dict(DED, **{'hw:numa_nodes': '2'}), 4,
     4096, 1, 1),
]


def build_spec(name, props, vcpus, ram_mb, instances, devices):
    spec, _notes = report.build_request(props, None, vcpus, ram_mb)
    spec.num_instances = instances
    if devices:
        spec.pci_requests = objects.InstancePCIRequests(requests=[
            objects.InstancePCIRequest(
                count=devices, spec=[{'vendor_id': '8086'}],
                request_id=None)])
    return spec


def host_manager_for(filters):
    """Nova's HostManager with no database behind it."""
    CONF.set_override('available_filters', [
        'nova.scheduler.filters.all_filters',
        'nova_stx.scheduler.filters.all_filters'], group='filter_scheduler')
    CONF.set_override('enabled_filters', filters, group='filter_scheduler')
    with mock.patch.object(host_manager.HostManager,
                           'refresh_cells_caches'), \
            mock.patch.object(host_manager.HostManager, '_init_aggregates'), \
            mock.patch.object(host_manager.HostManager,
                              '_init_instance_info'):
        manager = host_manager.HostManager()
    manager.aggs_by_id = {}
    manager.host_aggregates_map = collections.defaultdict(set)
    manager._instance_info = {}
    manager._get_instances_by_host = lambda context, host: {}
    return manager


def host_states(manager, computes, services):
    states = list(manager._get_host_states(
        nova_context.get_admin_context(), {CELL_UUID: computes}, services))
    for state in states:
        state.allocation_candidates = [{'mappings': {}}]
    return states


class Timer:
    """CPU seconds per category, with the garbage collector held off."""

    def __init__(self):
        self.seconds = collections.Counter()

    def run(self, key, func, *args):
        gc.disable()
        t0 = time.process_time()
        try:
            return func(*args)
        finally:
            self.seconds[key] += time.process_time() - t0
            gc.enable()


def schedule(timer, tag, manager, filters, states, spec, exact):
    """Filter and consume like Nova's scheduler, one pass per instance."""
    handler = manager.filter_handler
    if exact:
        exact_numa.install()
    else:
        exact_numa.uninstall()
    chosen = []
    for index in range(spec.num_instances):
        left = timer.run((tag, 'filter'), handler.get_filtered_objects,
                         filters, states, spec, index) or []
        if not left:
            break
        host = left[0]
        timer.run((tag, 'consume'), host.consume_from_request, spec)
        chosen.append(host.host)
    return chosen


def cache_bytes(states):
    """Bytes per host of nova-stx's cross-request cache, filled anew."""
    cache = host_cache.HostCache(len(states))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for state in states:
        cache.host(state.uuid, state.numa_topology)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before,
                                                            'filename'))
    return grown / len(states)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=1000)
    parser.add_argument('--requests', type=int, default=40)
    parser.add_argument('--refresh', type=float, default=0.02,
                        help='fraction of compute nodes updated per request')
    parser.add_argument('--each', type=int, default=0,
                        help='run every request type this many times too')
    parser.add_argument('--upstream-every', type=int, default=1)
    parser.add_argument('--seed', type=int, default=42)
    args = parser.parse_args()
    warnings.simplefilter('ignore')
    logging.disable(logging.INFO)
    objects.register_all()
    CONF([], project='nova', default_config_files=[])
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    fleet = [Host(rng, i) for i in range(args.hosts)]
    computes = [h.compute_node() for h in fleet]
    services = {h.name: {'host': h.name, 'disabled': False} for h in fleet}
    shapes = collections.Counter(h.n_cells for h in fleet)
    print('nova-stx steady-state scheduler benchmark, python %s' %
          sys.version.split()[0])
    print('%d hosts (cells %s, %d with PCI) built in %.0f s; %d requests, '
          '%.0f%% of compute nodes refreshed per request' % (
              args.hosts, dict(sorted(shapes.items())),
              sum(1 for h in fleet if h.pci_cells),
              time.perf_counter() - t0,
              args.requests + args.each * len(REQUESTS), args.refresh * 100))
    ours_manager = host_manager_for(STX_FILTERS)
    ours_filters = ours_manager.enabled_filters
    numa_only = [f for f in ours_filters
                 if type(f).__name__ == 'StxNUMATopologyFilter']
    upstream_manager = host_manager_for(['NUMATopologyFilter'])
    upstream_filters = [numa_topology_filter.NUMATopologyFilter()]
    weights = [r[1] for r in REQUESTS]
    per_type = collections.defaultdict(Timer)
    skipped = Timer()
    compared = collections.Counter()
    disagreements = 0
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    # NOTE(nova-stx): steady state: the scheduler has seen every host once.
    exact_numa.install()
    ours_manager.filter_handler.get_filtered_objects(
        ours_filters, host_states(ours_manager, computes, services),
        build_spec(*(REQUESTS[2][:1] + REQUESTS[2][2:])), 0)
    plan = [r for r in REQUESTS for _ in range(args.each)]
    rng.shuffle(plan)
    plan += rng.choices(REQUESTS, weights, k=args.requests)
    for number, request in enumerate(plan):
        now += datetime.timedelta(seconds=1)
        for index in rng.sample(range(len(fleet)),
                                int(len(fleet) * args.refresh)):
            fleet[index].refresh(now)
            computes[index] = fleet[index].compute_node()
        name, _w, props, vcpus, ram_mb, instances, devices = request
        with_upstream = number % args.upstream_every == 0
        # NOTE(nova-stx): the ratio compares the requests both ran.
        timer = per_type[name] if with_upstream else skipped
        states = timer.run(('nova', 'host states'), host_states,
                           ours_manager, computes, services)
        spec = build_spec(name, props, vcpus, ram_mb, instances, devices)
        ours = schedule(timer, 'nova-stx', ours_manager, ours_filters,
                        states, spec, exact=True)
        states = host_states(ours_manager, computes, services)
        spec = build_spec(name, props, vcpus, ram_mb, instances, devices)
        schedule(timer, 'numa only', ours_manager, numa_only, states, spec,
                 exact=True)
        compared[name] += 1
        if not with_upstream:
            continue
        states = timer.run(('nova', 'host states'), host_states,
                           upstream_manager, computes, services)
        spec = build_spec(name, props, vcpus, ram_mb, instances, devices)
        theirs = schedule(timer, 'upstream', upstream_manager,
                          upstream_filters, states, spec, exact=False)
        compared[name, 'upstream'] += 1
        disagreements += len(ours) != len(theirs)
    exact_numa.uninstall()
    print('\nCPU µs per host and request (filter: every pass of the '
          'request; consume: per request, all instances)')
    head = '%-46s %4s %9s %9s %9s %7s %9s %7s %9s %9s'
    print(head % ('request', 'n', 'Nova HS', 'upstream', 'nova-stx',
                  'ratio', 'Stx NUMA', 'ratio', 'consume', 'consume'))
    print(head % ('', '', 'build', 'filter', 'chain', '', 'alone', '',
                  'upstream', 'exact'))
    n_hosts = len(fleet)
    sums = collections.Counter()
    for name, *_ in REQUESTS:
        timer = per_type.get(name)
        if timer is None or not compared[name, 'upstream']:
            continue
        n_up = n_ours = compared[name, 'upstream']
        s = timer.seconds

        def us(key, n):
            return s[key] / n / n_hosts * 1e6

        up = us(('upstream', 'filter'), n_up)
        mine = us(('nova-stx', 'filter'), n_ours)
        alone = us(('numa only', 'filter'), n_ours)
        build = s[('nova', 'host states')] / (n_up + n_ours) / n_hosts * 1e6
        print('%-46s %4d %9.1f %9.1f %9.2f %6.0fx %9.2f %6.0fx %9.2f %9.2f'
              % (name, n_ours, build, up, mine, up / mine, alone, up / alone,
                 us(('upstream', 'consume'), n_up),
                 us(('nova-stx', 'consume'), n_ours)))
        weight = dict((r[0], r[1]) for r in REQUESTS)[name]
        sums['up'] += weight * up
        sums['ours'] += weight * mine
        sums['alone'] += weight * alone
        sums['build'] += weight * build
        if name.startswith('NUMA-heavy'):
            heavy = mine, alone
    total = sum(weights)
    print('%-46s %4s %9.1f %9.1f %9.2f %6.0fx %9.2f %6.0fx' % (
        'mix (weighted as requested)', '', sums['build'] / total,
        sums['up'] / total, sums['ours'] / total, sums['up'] / sums['ours'],
        sums['alone'] / total, sums['up'] / sums['alone']))
    if 'heavy' in locals():
        print('NUMA-heavy request: %.3f s of CPU per request over %d hosts '
              'for the nova-stx chain, %.3f s for StxNUMATopologyFilter '
              'alone' % (heavy[0] * n_hosts / 1e6, n_hosts,
                         heavy[1] * n_hosts / 1e6))
    print('hosts chosen differently (count, upstream vs nova-stx): %d' %
          disagreements)
    cache = conversions.cache()
    print('nova-stx host cache: %d hits, %d misses (compute nodes whose '
          'reported topology changed)' % (cache.hits, cache.misses))
    states = host_states(ours_manager, computes, services)
    print('memory of the cache: %.0f bytes per host (lazily computed '
          'values not included)' % cache_bytes(states))


if __name__ == '__main__':
    main()
