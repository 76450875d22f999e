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

"""Is a fitted ``InstanceNUMATopology`` valid on its host? Two checks.

:func:`problems` is written from the rules, independently of Nova's and
nova-stx's fitting code: cells on distinct host cells, the request's CPUs
and memory unchanged, page sizes the request allows with enough free
pages, pinning on free dedicated CPUs of the right cell, one vCPU per
core under ``isolate``, SMT cores under ``require``, the emulator-thread
pCPU apart. :func:`nova_accepts` asks Nova's own usage accounting
(``numa_usage_from_instance_numa``), which raises on an invalid pinning.
"""

from nova import exception
from nova.virt import hardware

_KIB_PER_MIB = 1024
_PINNED = ('dedicated', 'mixed')


def _get(obj, name):
    return getattr(obj, name) if name in obj else None


def _pages_problems(hcell, gcell, fitted, where):
    want, got = _get(gcell, 'pagesize'), _get(fitted, 'pagesize')
    sizes = sorted(p.size_kb for p in hcell.mempages)
    if not want:
        return []
    if not got or got < 0 or got not in sizes:
        return ['%s: page size %r not on host cell' % (where, got)]
    allowed = {-1: sizes[:1], -2: sizes[1:], -3: sizes}.get(want, [want])
    if got not in allowed:
        return ['%s: page size %d not allowed by %d' % (where, got, want)]
    pool = next(p for p in hcell.mempages if p.size_kb == got)
    kib = gcell.memory * _KIB_PER_MIB
    if kib % got or kib // got > pool.total - pool.used - pool.reserved:
        return ['%s: %d MiB not in free %d KiB pages' % (
            where, gcell.memory, got)]
    return []


def _cpu_problems(hcell, gcell, fitted, reserved, where):
    if _get(gcell, 'cpu_policy') not in _PINNED:
        return []
    pinning = _get(fitted, 'cpu_pinning_raw') and fitted.cpu_pinning or {}
    emulator = _get(fitted, 'cpuset_reserved') or set()
    out = []
    if set(pinning) != set(gcell.pcpuset):
        out.append('%s: pinned vCPUs %s, expected %s' % (
            where, sorted(pinning), sorted(gcell.pcpuset)))
    used = list(pinning.values()) + sorted(emulator)
    if len(set(used)) != len(used):
        out.append('%s: a host CPU is used twice' % where)
    bad = set(used) - (set(hcell.pcpuset) - set(hcell.pinned_cpus))
    if bad:
        out.append('%s: CPUs %s not free dedicated CPUs of host cell %d'
                   % (where, sorted(bad), hcell.id))
    if len(emulator) != reserved:
        out.append('%s: %d emulator-thread pCPUs, expected %d' % (
            where, len(emulator), reserved))
    core = {cpu: frozenset(s) for s in hcell.siblings for cpu in s}
    if _get(gcell, 'cpu_thread_policy') == 'isolate':
        cores = [core.get(cpu, frozenset([cpu])) for cpu in pinning.values()]
        if len(set(cores)) != len(cores):
            out.append('%s: two vCPUs on one core (isolate)' % where)
        for sibs in cores:
            if sibs & set(hcell.pinned_cpus):
                out.append('%s: core %s not free (isolate)' % (
                    where, sorted(sibs)))
    if _get(gcell, 'cpu_thread_policy') == 'require':
        for cpu in pinning.values():
            if len(core.get(cpu, ())) < 2:
                out.append('%s: CPU %d is not on an SMT core (require)' % (
                    where, cpu))
    return out


def problems(host_topology, request, fitted):
    """List what is wrong with ``fitted`` (empty when it is valid).

    :param host_topology: ``NUMATopology`` before the instance
    :param request: the ``InstanceNUMATopology`` asked for (unfitted)
    :param fitted: the ``InstanceNUMATopology`` a fit returned
    """
    cells = {c.id: c for c in host_topology.cells}
    out = []
    if len(fitted.cells) != len(request.cells):
        return ['%d cells fitted for %d requested' % (
            len(fitted.cells), len(request.cells))]
    ids = [c.id for c in fitted.cells]
    if len(set(ids)) != len(ids) or not set(ids) <= set(cells):
        return ['host cells %s are not distinct cells of the host' % ids]
    isolated = request.emulator_threads_isolated
    for index, (gcell, fcell) in enumerate(zip(request.cells,
                                               fitted.cells)):
        where = 'guest cell %d on host cell %d' % (index, fcell.id)
        if (fcell.memory, set(fcell.cpuset), set(fcell.pcpuset)) != (
                gcell.memory, set(gcell.cpuset), set(gcell.pcpuset)):
            out.append('%s: CPUs or memory changed' % where)
        hcell = cells[fcell.id]
        out += _pages_problems(hcell, gcell, fcell, where)
        out += _cpu_problems(hcell, gcell, fcell,
                             1 if isolated and index == 0 else 0, where)
    return out


def nova_accepts(host_topology, fitted):
    """Nova's usage accounting takes the topology without an error.

    :returns: True or False; None for a host with a cell without page
        pools, which Nova's accounting cannot handle at all (real hosts
        always report them)
    """
    if any(not cell.mempages for cell in host_topology.cells):
        return None
    try:
        hardware.numa_usage_from_instance_numa(host_topology, fitted)
    except exception.NovaException:
        return False
    return True
