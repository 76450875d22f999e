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

"""The nova-stx filter chain against upstream's NUMATopologyFilter.

Both run through Nova's own ``HostFilterHandler`` on the same synthetic
fleet (fresh ``HostState`` objects per request, as the scheduler builds
them) and the same request mix; prints microseconds per host and the
ratio. ``python benchmarks/filter_chain_bench.py [--hosts N] [--seed S]``.
"""

import argparse
import gc
import logging
import random
import time

from nova.scheduler import filters as nova_filters
from nova.scheduler.filters import numa_topology_filter

from nova_stx import keys
from nova_stx.explain import report
from nova_stx.explain import fleet

MODELS = ('Haswell', 'Broadwell', 'Skylake-Server-IBRS',
          'Cascadelake-Server', 'Icelake-Server')

#: (name, flavor extra specs, vCPUs, RAM MiB)
REQUESTS = (
    ('shared 1 node', {'hw:numa_nodes': '1'}, 4, 4096),
    ('dedicated', {'hw:cpu_policy': 'dedicated'}, 4, 4096),
    ('dedicated 2 nodes 2M', {'hw:cpu_policy': 'dedicated',
                              'hw:numa_nodes': '2',
                              'hw:mem_page_size': '2MB'}, 8, 8192),
    ('dedicated 1G isolate emu', {'hw:cpu_policy': 'dedicated',
                                  'hw:mem_page_size': '1GB',
                                  'hw:emulator_threads_policy': 'isolate'},
     6, 8192),
    ('mixed 2 nodes', {'hw:cpu_policy': 'mixed', 'hw:numa_nodes': '2',
                       'hw:cpu_dedicated_mask': '^0-1'}, 8, 8192),
    ('require + model', {'hw:cpu_policy': 'dedicated',
                         'hw:cpu_thread_policy': 'require',
                         keys.CPU_MODEL.flavor: 'Skylake-Server'}, 4, 4096),
    ('4 nodes no fit', {'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '4',
                        'hw:mem_page_size': '1GB'}, 64, 65536),
)


def make_fleet(count, seed):
    """Return ``count`` random hosts in the fleet format."""
    rng = random.Random(seed)
    hosts = []
    for index in range(count):
        threads = rng.choice((1, 2))
        cores = rng.choice((4, 8, 12))
        cells = []
        cpu = 0
        for _cell in range(rng.choice((1, 2, 2, 4))):
            size = cores * threads
            pcpus = list(range(cpu, cpu + size))
            shared = list(range(cpu + size, cpu + size + 2 * threads))
            cpu += size + len(shared)
            used = rng.randrange(0, size // 2 + 1)
            cells.append({
                'pcpus': pcpus, 'cpus': shared, 'threads': threads,
                'memory_mb': rng.choice((32768, 65536)),
                'pinned': pcpus[:used],
                'hugepages': {'2M': {'total': 4096,
                                     'used': rng.randrange(0, 4097)},
                              '1G': {'total': 8,
                                     'used': rng.randrange(0, 9)}},
            })
        hosts.append({'name': f'compute-{index}', 'cells': cells,
                      'cpu': {'model': rng.choice(MODELS),
                              'vendor': 'Intel', 'features': ['vmx']}})
    return hosts


def measure(chain, hosts, spec, rounds):
    """Return (µs per host, hosts left) for one request."""
    handler = nova_filters.HostFilterHandler()
    best = None
    for _round in range(rounds):
        states = [fleet.host_state(h) for h in hosts]
        for state in states:
            state.allocation_candidates = [{'mappings': {}}]
        gc.collect()
        start = time.perf_counter()
        left = handler.get_filtered_objects(chain, states, spec) or []
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return best / len(hosts) * 1e6, len(left)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=500)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    hosts = make_fleet(args.hosts, args.seed)
    ours = [cls() for cls in report.filter_classes()]
    upstream = [numa_topology_filter.NUMATopologyFilter()]
    print(f'{args.hosts} hosts, seed {args.seed}, best of {args.rounds}')
    print(f'{"request":<26} {"upstream":>10} {"nova-stx":>10} {"ratio":>7}'
          f'  hosts left (upstream/nova-stx)')
    total_up = total_ours = 0.0
    for name, props, vcpus, ram_mb in REQUESTS:
        spec, _notes = report.build_request(props, None, vcpus, ram_mb)
        up, up_left = measure(upstream, hosts, spec, args.rounds)
        us, us_left = measure(ours, hosts, spec, args.rounds)
        total_up += up
        total_ours += us
        print(f'{name:<26} {up:>8.1f}us {us:>8.1f}us {up / us:>6.1f}x'
              f'  {up_left}/{us_left}')
    print(f'{"mean":<26} {total_up / len(REQUESTS):>8.1f}us '
          f'{total_ours / len(REQUESTS):>8.1f}us '
          f'{total_up / total_ours:>6.1f}x')
    print('Hosts left differ where the request sets hw:cpu_model (upstream '
          'has no vCPU model filter) or where upstream NUMA fitting is '
          'wrong (see doc/source/admin/numa-fit.rst).')


if __name__ == '__main__':
    main()
