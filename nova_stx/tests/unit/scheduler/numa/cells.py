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

"""Plain-number builders of model cells for the unit tests."""

import dataclasses

from nova_stx.scheduler.numa import model

G = 1048576
M2 = 2048
K4 = 4


def host_cell(cell_id=0, cores=4, threads=2, shared_cores=0, pinned=(),
              memory=8192, memory_usage=0, cpu_usage=0, pages=None,
              legacy=False, physnets=(), tunneled=False):
    """``cores`` x ``threads`` CPUs numbered from ``cell_id * 100``.

    :param pages: ``{size_kb: total or (total, used, reserved)}``; default
        all memory in 4 KiB pages; ``{}`` for none
    """
    cpu = cell_id * 100
    siblings, shared, dedicated = [], set(), set()
    for core in range(cores):
        sib = frozenset(range(cpu, cpu + threads))
        cpu += threads
        siblings.append(sib)
        (shared if core < shared_cores else dedicated).update(sib)
    if legacy:
        shared = dedicated = shared | dedicated
    if pages is None:
        pages = {K4: memory * 256}
    pools = []
    for size in sorted(pages):
        value = pages[size]
        value = value if isinstance(value, tuple) else (value, 0, 0)
        pools.append(model.PagePool(size, *value))
    return model.HostCell(
        id=cell_id, cpuset=frozenset(shared), pcpuset=frozenset(dedicated),
        siblings=tuple(siblings), pinned=frozenset(pinned), memory=memory,
        memory_usage=memory_usage, cpu_usage=cpu_usage,
        mempages=tuple(pools), physnets=frozenset(physnets),
        tunneled=tunneled)


def guest_cell(index=0, pcpus=0, cpus=0, memory=1024, pagesize=None,
               policy=model.DEDICATED, thread=None):
    return model.GuestCell(index=index, cpus=cpus, pcpus=pcpus,
                           memory=memory, pagesize=pagesize,
                           cpu_policy=policy, cpu_thread_policy=thread)


def request(*cells, emulator_isolated=False, physnets=(), tunneled=False):
    cells = tuple(dataclasses.replace(c, index=i)
                  for i, c in enumerate(cells))
    return model.Request(cells, emulator_isolated, frozenset(physnets),
                         tunneled)
