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

from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import model
from nova_stx.tests.unit.scheduler.numa import nova_objects

G = 1048576
M2 = 2048
K4 = 4


def host_cell(cell_id=0, cores=4, threads=2, shared_cores=0, pinned=(),
              memory=8192, memory_usage=0, cpu_usage=0, pages=None,
              legacy=False, physnets=(), tunneled=False):
    """A converted Nova cell of ``cores`` x ``threads`` CPUs.

    CPUs are numbered from ``cell_id * 100``.

    :param pages: ``{size_kb: total or (total, used, reserved)}``; default
        all memory in 4 KiB pages; ``{}`` for none
    """
    mempages = None
    if pages is not None:
        mempages = []
        for size, value in sorted(pages.items()):
            value = value if isinstance(value, tuple) else (value, 0, 0)
            mempages.append(nova_objects.pages(size, *value))
    cell = nova_objects.host_cell(
        cell_id, cores, threads=threads, shared_cores=shared_cores,
        pinned=pinned, memory=memory, memory_usage=memory_usage,
        cpu_usage=cpu_usage, mempages=mempages, first_cpu=cell_id * 100,
        legacy=legacy, physnets=physnets, tunneled=tunneled)
    return from_nova.host_from_nova(nova_objects.host(cell)).cells[0]


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
