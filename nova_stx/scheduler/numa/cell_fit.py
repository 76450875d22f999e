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

"""Does one guest NUMA cell fit one host NUMA cell?

The same answer as Nova's ``hardware._numa_fit_instance_cell`` on a fresh
copy of the guest cell, computed from counts instead of by building a
pinning: Nova's packing succeeds exactly when the counts below allow it,
whichever CPUs it would then pick.

Each ``*_misfit`` function returns None when the cell fits, else a
``(template, values)`` pair; :func:`explain` turns it into text. Deciders
keep the pair and format only the reasons they report.
"""

from nova_stx.scheduler.numa import model

_KIB_PER_MIB = 1024


def explain(misfit):
    """Format a misfit pair as text (None stays None)."""
    if misfit is None:
        return None
    template, values = misfit
    return template % values


class _FreeText:
    """Free MiB per page size, formatted only if a reason is shown."""

    def __init__(self, pages, sizes):
        self.pages = pages
        self.sizes = sizes

    def __str__(self):
        return ', '.join('%d KiB: %d MiB' % (
            size, self.pages[size].free * size // _KIB_PER_MIB)
            for size in self.sizes)


def page_misfit(hc, gc):
    """Memory part of the rule: page size and free pages, or plain memory.

    :param hc: :class:`model.HostCell`
    :param gc: :class:`model.GuestCell`
    """
    mem_kb = gc.memory * _KIB_PER_MIB
    pagesize = gc.pagesize
    if pagesize:
        pages = hc.pages
        if pagesize > 0:
            sizes = (pagesize,)
            pool = pages.get(pagesize)
            if (pool is not None and mem_kb <= pool.free * pagesize and
                    not mem_kb % pagesize):
                return None
        else:
            sizes = hc.page_sizes
            if pagesize == model.PAGESIZE_SMALL:
                sizes = sizes[:1]
            elif pagesize == model.PAGESIZE_LARGE:
                sizes = sizes[1:]
            elif pagesize != model.PAGESIZE_ANY:
                return ('page size %d is not valid', (pagesize,))
            for size in sizes:
                pool = pages[size]
                if mem_kb <= pool.free * size and not mem_kb % size:
                    return None
        if not sizes:
            return ('host cell %d has no %s pages', (hc.id, _WANT[pagesize]))
        if len(sizes) == 1:
            size = sizes[0]
            pool = pages.get(size)
            if pool is None:
                return ('host cell %d has no %d KiB pages', (hc.id, size))
            if mem_kb % size:
                return ('host cell %d: %d MiB is not a multiple of %d KiB '
                        'pages', (hc.id, gc.memory, size))
            return ('host cell %d: %d KiB pages: %d MiB free, %d MiB needed',
                    (hc.id, size, pool.free * size // _KIB_PER_MIB,
                     gc.memory))
        return ('host cell %d: no page size holds %d MiB (free %s)',
                (hc.id, gc.memory, _FreeText(pages, sizes)))
    if hc.mempages:
        pool = hc.mempages[0]
        size = pool.size_kb
        if gc.pinned:
            avail, kind = pool.free * size, 'free'
        else:
            avail, kind = pool.total * size, 'total'
        if mem_kb <= avail and not mem_kb % size:
            return None
        return ('host cell %d: %d MiB of %d KiB pages %s, %d MiB needed',
                (hc.id, avail // _KIB_PER_MIB, size, kind, gc.memory))
    if gc.pinned:
        if hc.avail_memory < gc.memory:
            return ('host cell %d: %d MiB free, %d MiB needed (pinned, no '
                    'overcommit)', (hc.id, hc.avail_memory, gc.memory))
    elif hc.memory < gc.memory:
        return ('host cell %d: %d MiB total, %d MiB needed',
                (hc.id, hc.memory, gc.memory))
    return None


_WANT = {model.PAGESIZE_SMALL: 'small', model.PAGESIZE_LARGE: 'large',
         model.PAGESIZE_ANY: 'any'}


def pack_misfit(hc, gc, reserved):
    """Can Nova pack ``gc.pcpus`` (+ ``reserved``) onto free host threads?

    Assumes the pCPU counts of :func:`cpu_misfit` already passed.
    """
    need = gc.pcpus
    tpc = hc.threads_per_core
    if not tpc:
        return ('host cell %d reports no CPU sibling sets', (hc.id,))
    policy = gc.cpu_thread_policy
    if policy == model.ISOLATE:
        if not need:
            return ('host cell %d: isolate policy cannot pin an empty guest '
                    'cell', (hc.id,))
        if tpc != 1 and hc.pcpuset != hc.cpuset:
            return ('host cell %d has SMT and cpu_dedicated_set: isolate '
                    'cannot be honoured (bug 1889633)', (hc.id,))
        full = hc.full_free_cores
        if full < need:
            return ('host cell %d: needs %d dedicated pCPUs on free full '
                    'cores (isolate), %d free', (hc.id, need, full))
        if reserved and len(hc.free_cores) <= need:
            return ('host cell %d: needs %d free cores (isolate) plus one '
                    'pCPU for emulator threads, %d cores with free pCPUs',
                    (hc.id, need, len(hc.free_cores)))
        return None
    if policy == model.REQUIRE:
        if tpc <= 1:
            return ('host cell %d has no SMT siblings (require)', (hc.id,))
        cores = hc.free_cores
        if not need:
            if reserved or max(cores, default=0) < 2:
                return ('host cell %d: require policy cannot pin an empty '
                        'guest cell here', (hc.id,))
            return None
        best = 0
        for threads in range(2, max(cores, default=0) + 1):
            best = max(best, threads * sum(1 for n in cores if n >= threads))
            if best >= need:
                return None
        return ('host cell %d: needs %d dedicated pCPUs on free sibling '
                'threads (require), %d usable', (hc.id, need, best))
    if not need and reserved:
        return ('host cell %d: cannot reserve an emulator-thread pCPU next '
                'to a guest cell without dedicated vCPUs', (hc.id,))
    return None


def cpu_misfit(hc, gc, reserved=0):
    """CPU part of the rule: pCPU and shared CPU counts, then packing.

    :param reserved: pCPUs reserved for emulator threads (0 or 1)
    """
    pinned = gc.pinned
    need = gc.pcpus + reserved
    if pinned and need > len(hc.pcpuset):
        return ('host cell %d: needs %d dedicated pCPUs, has %d',
                (hc.id, need, len(hc.pcpuset)))
    if gc.cpu_policy != model.DEDICATED and gc.cpus > len(hc.cpuset):
        return ('host cell %d: needs %d shared CPUs, has %d',
                (hc.id, gc.cpus, len(hc.cpuset)))
    if pinned:
        if need > hc.avail_pcpus:
            return ('host cell %d: needs %d dedicated pCPUs, %d free',
                    (hc.id, need, hc.avail_pcpus))
        return pack_misfit(hc, gc, reserved)
    return None


def limits_misfit(hc, gc, limits):
    """Overcommit limits on shared CPUs and memory (not for dedicated)."""
    if limits is None or gc.cpu_policy == model.DEDICATED:
        return None
    cpu_limit = len(hc.cpuset) * limits.cpu_allocation_ratio
    if hc.cpu_usage + gc.cpus > cpu_limit:
        return ('host cell %d: shared CPU usage %d + %d over limit %g',
                (hc.id, hc.cpu_usage, gc.cpus, cpu_limit))
    ram_limit = hc.memory * limits.ram_allocation_ratio
    if hc.memory_usage + gc.memory > ram_limit:
        return ('host cell %d: memory usage %d + %d MiB over limit %g MiB',
                (hc.id, hc.memory_usage, gc.memory, ram_limit))
    return None


def misfit(hc, gc, limits=None, reserved=0):
    """The whole per-cell rule, in Nova's order of checks.

    :param hc: :class:`model.HostCell`
    :param gc: :class:`model.GuestCell`
    :param limits: :class:`model.Limits` or None
    :param reserved: pCPUs reserved for emulator threads (0 or 1)
    :returns: None if it fits, else a ``(template, values)`` pair
    """
    return (page_misfit(hc, gc) or cpu_misfit(hc, gc, reserved) or
            limits_misfit(hc, gc, limits))


def check(hc, gc, limits=None, reserved=0):
    """Like :func:`misfit`, with the reason as text.

    :returns: None if the guest cell fits the host cell, else a reason
    """
    return explain(misfit(hc, gc, limits, reserved))
