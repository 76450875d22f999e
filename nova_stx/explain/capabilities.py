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

"""libvirt capabilities XML as a host of the fleet format.

The NUMA cells, their CPUs and sibling threads, memory and page pools, and
the host CPU model, vendor and features come from the XML. Which CPUs Nova
may use for dedicated and shared guests is nova.conf's business
(``[compute] cpu_dedicated_set`` / ``cpu_shared_set``), so the caller says.
"""

from lxml import etree
from nova.virt.libvirt import config as vconfig

from nova_stx.explain import fleet

SMALL_PAGE_KB = fleet.SMALL_PAGE_KB


class CapabilitiesError(ValueError):
    """The XML is not usable libvirt capabilities."""


def _usable(all_cpus, spec, where):
    if spec in (None, 'all'):
        return set(all_cpus)
    if spec in ('', 'none'):
        return set()
    return fleet.cpuset(spec, where, 'CPU set') & set(all_cpus)


def host_from_capabilities(xml, name, dedicated='all', shared='all'):
    """Describe the host of a capabilities XML in the fleet format.

    :param xml: ``virConnect.getCapabilities()`` text.
    :param name: the host name to give it.
    :param dedicated: CPU set usable for pinned guests, ``all`` or
        ``none``.
    :param shared: CPU set usable for floating guests, ``all`` or ``none``.
    :returns: a host mapping for :func:`fleet.host_state`.
    :raises CapabilitiesError: when the XML cannot be read.
    """
    caps = vconfig.LibvirtConfigCaps()
    try:
        # NOTE(nova-stx): parsed once without entities or network access
        # first, so a hostile file cannot expand or fetch anything.
        safe = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(xml.encode('utf-8'), safe)
        if root.tag != 'capabilities':
            raise ValueError(f'the root element is <{root.tag}>, not '
                             f'<capabilities>')
        caps.parse_dom(root)
    except (etree.XMLSyntaxError, ValueError, TypeError, AttributeError,
            KeyError) as exc:
        raise CapabilitiesError(f'{name}: not libvirt capabilities XML: '
                                f"{' '.join(str(exc).split())}")
    if caps.host is None or caps.host.topology is None or not (
            caps.host.topology.cells):
        raise CapabilitiesError(f'{name}: the capabilities XML has no NUMA '
                                f'topology (<host><topology><cells>)')
    cells = []
    for cell in caps.host.topology.cells:
        cpu_ids = {cpu.id for cpu in cell.cpus}
        siblings = []
        for cpu in cell.cpus:
            group = set(cpu.siblings or {cpu.id}) & cpu_ids
            if group not in siblings:
                siblings.append(group)
        pages = {p.size: p.total for p in cell.mempages}
        small_kb = pages.pop(SMALL_PAGE_KB, None)
        memory_kb = cell.memory
        if small_kb is not None:
            # NOTE(nova-stx): as Nova, the cell's memory is what its small
            # pages and hugepages hold together.
            memory_kb = small_kb * SMALL_PAGE_KB + sum(
                size * total for size, total in pages.items())
        where = f'{name} cell {cell.id}'
        cells.append({
            'id': cell.id,
            'pcpus': sorted(_usable(cpu_ids, dedicated, where)),
            'cpus': sorted(_usable(cpu_ids, shared, where)),
            'siblings': [sorted(g) for g in siblings],
            'memory_mb': memory_kb // 1024,
            'hugepages': {f'{size}K': total
                          for size, total in pages.items()},
        })
    cpu = caps.host.cpu
    # NOTE(nova-stx): without <cpu> the host's CPU is unknown, as in
    # Nova's cpu_info of such a host; hw:cpu_model requests fail on it.
    return {
        'name': name,
        'cpu': {'model': cpu.model, 'vendor': cpu.vendor,
                'features': sorted(f.name for f in cpu.features)}
        if cpu is not None else {},
        'cells': cells,
    }
