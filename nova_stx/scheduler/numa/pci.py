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

Nova decides PCI affinity in ``PciDeviceStats.support_requests(requests,
provider_mapping, numa_cells)``, which looks only at the ``id`` of each
fitted guest cell, i.e. at the set of host cells used (``numa_policy``
required/legacy/preferred/socket is applied there). We call exactly that,
once per distinct set of host cells, on Nova's deep copy of the stats.
"""

from nova import objects


def pci_check(pci_stats, pci_requests, provider_mapping):
    """Build the ``pci`` argument of :func:`fit.fit_host`.

    :param pci_stats: ``nova.pci.stats.PciDeviceStats`` of the host
    :param pci_requests: list of ``InstancePCIRequest`` (may be empty)
    :param provider_mapping: placement mapping of the candidate, or None
    :returns: None when there is nothing to check (as Nova skips the check
        without requests or stats), else ``check(host_cell_ids) -> bool``
    """
    if not (pci_requests and pci_stats):
        return None
    seen = {}

    def check(host_cell_ids):
        key = frozenset(host_cell_ids)
        if key not in seen:
            cells = [objects.InstanceNUMACell(id=i)
                     for i in sorted(host_cell_ids)]
            seen[key] = pci_stats.support_requests(
                pci_requests, provider_mapping, cells)
        return seen[key]

    return check
