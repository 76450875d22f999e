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

"""Build Nova's NUMA objects for tests, and the reference (oracle) fit.

The oracle is the definition of a correct answer: Nova's own per-cell rule
``hardware._numa_fit_instance_cell`` run on a fresh clone of the guest cell
for every (host cell, guest cell) pair, and a plain search for an
assignment of guest cells to distinct host cells.
"""

from nova import exception
from nova import objects
from nova.virt import hardware

objects.register_all()

KIB_4K, KIB_2M, KIB_1G = 4, 2048, 1048576


def pages(size_kb, total, used=0, reserved=0):
    return objects.NUMAPagesTopology(size_kb=size_kb, total=total, used=used,
                                     reserved=reserved)


def host_cell(cell_id, cores, threads=2, shared_cores=0, pinned=(),
              memory=16384, memory_usage=0, cpu_usage=0, mempages=None,
              first_cpu=None, legacy=False, physnets=(), tunneled=False,
              socket=0):
    """A host NUMACell of ``cores`` x ``threads`` CPUs.

    The first ``shared_cores`` cores form ``cpuset`` (cpu_shared_set), the
    others ``pcpuset``; ``legacy`` gives both sets all CPUs (vcpu_pin_set).
    ``mempages`` defaults to all memory in 4 KiB pages.
    """
    cpu = cell_id * 64 if first_cpu is None else first_cpu
    siblings, shared, dedicated = [], set(), set()
    for core in range(cores):
        sib = set(range(cpu, cpu + threads))
        cpu += threads
        siblings.append(sib)
        (shared if core < shared_cores else dedicated).update(sib)
    if legacy:
        shared = dedicated = shared | dedicated
    if mempages is None:
        mempages = [pages(KIB_4K, memory * 256)]
    return objects.NUMACell(
        id=cell_id, cpuset=shared, pcpuset=dedicated, memory=memory,
        memory_usage=memory_usage, cpu_usage=cpu_usage,
        pinned_cpus=set(pinned), siblings=siblings, mempages=mempages,
        socket=socket,
        network_metadata=objects.NetworkMetadata(physnets=set(physnets),
                                                 tunneled=tunneled))


def host(*cells):
    return objects.NUMATopology(cells=list(cells))


def flavor(vcpus, memory_mb, **extra_specs):
    return objects.Flavor(vcpus=vcpus, memory_mb=memory_mb, root_gb=1,
                          ephemeral_gb=0, swap=0, name='t', flavorid='t',
                          extra_specs=dict(extra_specs))


def constraints(vcpus, memory_mb, extra_specs, image_props=None):
    """``hardware.numa_get_constraints`` for a flavor (and image)."""
    return hardware.numa_get_constraints(
        flavor(vcpus, memory_mb, **extra_specs),
        objects.ImageMeta.from_dict({'properties': image_props or {}}))


def limits(cpu=16.0, ram=1.5):
    return objects.NUMATopologyLimits(cpu_allocation_ratio=cpu,
                                      ram_allocation_ratio=ram)


def pair_fits(host_topology, instance_topology, nova_limits):
    """Nova's per-cell rule on fresh clones: ``{(host pos, guest idx)}``."""
    fits = set()
    isolated = instance_topology.emulator_threads_isolated
    for i, guest in enumerate(instance_topology.cells):
        reserved = 1 if (isolated and i == 0) else 0
        for pos, hcell in enumerate(host_topology.cells):
            try:
                got = hardware._numa_fit_instance_cell(
                    hcell, guest.obj_clone(), nova_limits, reserved)
            except exception.MemoryPageSizeNotSupported:
                got = None
            if got is not None:
                fits.add((pos, i))
    return fits


def oracle_fits(host_topology, instance_topology, nova_limits,
                network_metadata=None):
    """Reference answer: an injective assignment where every pair fits.

    With ``network_metadata``, Nova's network NUMA-affinity check must
    also accept the chosen host cells.
    """
    if not host_topology.cells or not instance_topology.cells:
        return False
    if len(host_topology.cells) < len(instance_topology.cells):
        return False
    fits = pair_fits(host_topology, instance_topology, nova_limits)
    count = len(instance_topology.cells)
    hosts = range(len(host_topology.cells))
    failed = set()

    def search(i, used):
        if i == count:
            if network_metadata is None:
                return True
            chosen = [host_topology.cells[p] for p in hosts
                      if used & (1 << p)]
            return hardware._numa_cells_support_network_metadata(
                host_topology, chosen, network_metadata)
        if (i, used) in failed:
            return False
        for pos in hosts:
            if not used & (1 << pos) and (pos, i) in fits:
                if search(i + 1, used | (1 << pos)):
                    return True
        failed.add((i, used))
        return False

    return search(0, 0)
