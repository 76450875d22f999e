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

"""Host topologies described as plain data, turned into Nova HostStates.

The fleet format (YAML or JSON), documented in
``doc/source/admin/explain.rst``::

    hosts:
      - name: compute-0
        cpu: {model: Skylake-Server-IBRS, vendor: Intel,
              features: [vmx, avx512f]}
        cpu_allocation_ratio: 4.0      # optional, default 16.0
        ram_allocation_ratio: 1.0      # optional, default 1.5
        cells:
          - pcpus: 0-7                 # dedicated CPUs (cpu_dedicated_set)
            cpus: 8-11                 # shared CPUs (cpu_shared_set)
            threads: 2                 # SMT threads per core, default 1
            memory_mb: 32768           # the cell's whole memory
            pinned: 0-1                # pCPUs already pinned, optional
            memory_used_mb: 0          # optional
            hugepages: {2M: 4096, 1G: {total: 4, used: 1}}
"""

import importlib.resources
import json
import re

from nova import exception as nova_exception
from nova import objects
from nova.scheduler import host_manager
from nova.virt import hardware
import yaml

SMALL_PAGE_KB = 4
#: Highest CPU id a fleet may name (bounds the work a CPU range makes).
MAX_CPU_ID = 65535
_SIZE = re.compile(r'^([0-9]{1,12})\s*([KMG]?)(i?B)?$', re.IGNORECASE)
_UNITS = {'': 1, 'K': 1, 'M': 1024, 'G': 1024 * 1024}
SAMPLE = 'sample_fleet.yaml'


class FleetError(ValueError):
    """The fleet description is wrong; the text says where and why."""


def _where(host, cell=None):
    return f'host {host}' + (f' cell {cell}' if cell is not None else '')


def page_size_kb(value, where):
    """Read a page size: KiB as an integer, or ``4K``, ``2M``, ``1G``.

    :raises FleetError: for anything else.
    """
    # NOTE(nova-stx): an int of more than 4,300 digits has no str().
    text = (str(value) if not isinstance(value, int) or
            value.bit_length() < 64 else
            f'<integer of {value.bit_length()} bits>')
    match = _SIZE.match(text.strip())
    if isinstance(value, bool) or not match or int(match.group(1)) <= 0:
        shown = text if len(text) <= 40 else (
            f'{text[:20]}... ({len(text)} characters)')
        raise FleetError(f"{where}: page size '{shown}' is not a size such "
                         f"as 2M, 1G or 2048 (KiB)")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def cpuset(value, where, name):
    """Read a CPU set: ``0-3,^2``, one CPU id or a list of CPU ids.

    :raises FleetError: for anything else.
    """
    if value is None or value == '':
        return set()
    if isinstance(value, int) and not isinstance(value, bool):
        if not 0 <= value <= MAX_CPU_ID:
            raise FleetError(f'{where}: {name} has CPU id {value}, outside '
                             f'0 to {MAX_CPU_ID}')
        return {value}
    if isinstance(value, (list, tuple)):
        return set().union(*(cpuset(v, where, name) for v in value))
    if not isinstance(value, str) or any(
            len(n) > 5 or int(n) > MAX_CPU_ID
            for n in re.findall(r'[0-9]+', value)):
        raise FleetError(f'{where}: {name} {value!r} is not a CPU set of '
                         f'ids from 0 to {MAX_CPU_ID}, such as 0-3,^2')
    try:
        return set(hardware.parse_cpu_spec(str(value)))
    except nova_exception.Invalid as exc:
        raise FleetError(f'{where}: {name} {value!r}: {exc}')


def _count(data, name, where, default=0):
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FleetError(f"{where}: {name} must be a whole number >= 0, "
                         f"got {value!r}")
    return value


def _siblings(cpus, threads, explicit, where):
    if explicit is not None:
        if not isinstance(explicit, list):
            raise FleetError(f'{where}: siblings must be a list of CPU '
                             f'sets')
        groups = [cpuset(s, where, 'siblings') for s in explicit]
        covered = set().union(*groups)
        if covered != cpus or sum(map(len, groups)) != len(covered):
            raise FleetError(f'{where}: siblings must cover the CPUs '
                             f'{sorted(cpus)} exactly')
        return groups
    ordered = sorted(cpus)
    return [set(ordered[i:i + threads])
            for i in range(0, len(ordered), threads)]


def _pages(data, memory_mb, where):
    huge = {}
    pools = data.get('hugepages') or {}
    if not isinstance(pools, dict):
        raise FleetError(f'{where}: hugepages must map page sizes to '
                         f'counts')
    for size, pool in pools.items():
        size_kb = page_size_kb(size, where)
        if not isinstance(pool, dict):
            pool = {'total': pool}
        total = _count(pool, 'total', f'{where} {size} pages')
        used = _count(pool, 'used', f'{where} {size} pages')
        if used > total:
            raise FleetError(f'{where}: {used} {size} pages used of '
                             f'{total}')
        huge[size_kb] = (total, used)
    huge_kb = sum(size * total for size, (total, _used) in huge.items())
    small = memory_mb * 1024 - huge_kb
    if small < 0:
        raise FleetError(f'{where}: hugepages ({huge_kb // 1024} MiB) '
                         f'exceed memory_mb ({memory_mb})')
    pools = [objects.NUMAPagesTopology(
        size_kb=SMALL_PAGE_KB, total=small // SMALL_PAGE_KB, used=0,
        reserved=0)]
    pools += [objects.NUMAPagesTopology(size_kb=size, total=total,
                                        used=used, reserved=0)
              for size, (total, used) in sorted(huge.items())]
    return pools


def numa_cell(data, index, host):
    """Build a Nova ``NUMACell`` from one cell of the fleet format."""
    if not isinstance(data, dict):
        raise FleetError(f'{_where(host, index)}: a cell must be a mapping')
    cell_id = _count(data, 'id', _where(host, index), index)
    where = _where(host, cell_id)
    pcpus = cpuset(data.get('pcpus'), where, 'pcpus')
    cpus = cpuset(data.get('cpus'), where, 'cpus')
    pinned = cpuset(data.get('pinned'), where, 'pinned')
    if not pinned <= pcpus:
        raise FleetError(f'{where}: pinned {sorted(pinned - pcpus)} are not '
                         f'in pcpus')
    threads = _count(data, 'threads', where, 1) or 1
    memory_mb = _count(data, 'memory_mb', where)
    used_mb = _count(data, 'memory_used_mb', where)
    return objects.NUMACell(
        id=cell_id, cpuset=cpus, pcpuset=pcpus, memory=memory_mb,
        cpu_usage=_count(data, 'cpu_usage', where), memory_usage=used_mb,
        pinned_cpus=pinned,
        siblings=_siblings(pcpus | cpus, threads, data.get('siblings'),
                           where),
        mempages=_pages(data, memory_mb, where),
        network_metadata=objects.NetworkMetadata(physnets=set(),
                                                 tunneled=False),
        socket=None)


def _ratio(data, name, default, where):
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            value <= 0):
        raise FleetError(f'{where}: {name} must be a number > 0, got '
                         f'{value!r}')
    return float(value)


def host_state(data):
    """Build a Nova ``HostState`` from one host of the fleet format.

    :param data: the host's mapping.
    :returns: a ``nova.scheduler.host_manager.HostState``.
    :raises FleetError: when the description is wrong.
    """
    if not isinstance(data, dict) or not data.get('name'):
        raise FleetError(f'every host needs a name, got {data!r}')
    name = str(data['name'])
    objects.register_all()
    cells = data.get('cells')
    if not isinstance(cells, list):
        raise FleetError(f'{_where(name)}: cells must be a list')
    state = host_manager.HostState(name, name, None)
    state.numa_topology = objects.NUMATopology(
        cells=[numa_cell(c, i, name) for i, c in enumerate(cells)])
    cpu = data.get('cpu') or {}
    if not isinstance(cpu, dict):
        raise FleetError(f'{_where(name)}: cpu must be a mapping')
    features = cpu.get('features') or []
    if not isinstance(features, list) or not all(
            isinstance(f, str) for f in features):
        raise FleetError(f'{_where(name)}: cpu features must be a list of '
                         f'names')
    state.cpu_info = json.dumps({
        'model': cpu.get('model'), 'vendor': cpu.get('vendor'),
        'features': sorted(features)})
    state.cpu_allocation_ratio = _ratio(data, 'cpu_allocation_ratio', 16.0,
                                        _where(name))
    state.ram_allocation_ratio = _ratio(data, 'ram_allocation_ratio', 1.5,
                                        _where(name))
    # NOTE(nova-stx): one candidate without mappings, as placement returns
    # for a host without nested providers.
    state.allocation_candidates = [{'mappings': {}}]
    return state


def parse(text, origin):
    """Read a fleet from YAML or JSON text.

    :param text: the file's content.
    :param origin: where it came from, for errors.
    :returns: a list of host mappings.
    :raises FleetError: when it is not a fleet.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FleetError(f'{origin}: not YAML or JSON: {exc}')
    return hosts_of(data, origin)


def hosts_of(data, origin):
    """Return the host mappings of parsed fleet data.

    :raises FleetError: when it is not a fleet.
    """
    hosts = data.get('hosts') if isinstance(data, dict) else None
    if not isinstance(hosts, list) or not hosts:
        raise FleetError(f"{origin}: expected a mapping with a non-empty "
                         f"'hosts' list")
    return hosts


def sample():
    """Return the host mappings of the fleet shipped with nova-stx."""
    resource = importlib.resources.files(__package__).joinpath(SAMPLE)
    return parse(resource.read_text(), SAMPLE)
