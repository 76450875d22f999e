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

"""Cheap necessary conditions for the hugepage and CPU-pinning filters.

Each check applies one part of the per-cell rule (pages, or dedicated
pCPUs and thread policy) and then the same matching as the full fit. A
part of the rule is weaker than the whole rule, so a host these checks
reject is always rejected by :func:`fit.fit_host` too; the reverse does
not hold, and the NUMA filter still runs the full fit.
"""

from nova_stx.scheduler.numa import cell_fit
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import model


def _page_rule(hc, gc, limits, reserved):
    if not gc.pagesize:
        return None
    return cell_fit.page_misfit(hc, gc)


def _pinning_rule(hc, gc, limits, reserved):
    if not gc.pinned:
        return None
    return cell_fit.cpu_misfit(hc, gc, reserved)


def _check(host, request, rule, wanted):
    if request is None or not any(wanted(gc) for gc in request.cells):
        return None
    if host is None or not host.cells:
        return 'host reports no NUMA topology'
    try:
        return _match_part(host, request, rule)
    except model.MalformedHostTopology:
        # NOTE(nova-stx): stay a necessary condition: the full fit reports
        # malformed data when it meets it.
        return None


def _match_part(host, request, rule):
    if len(host.cells) < len(request.cells):
        # NOTE(nova-stx): not a page or pinning matter; the NUMA filter
        # gives that reason.
        return None
    pairs = fit.Pairs(host, request, None, rule)
    owner, violator = fit.match(pairs)
    if owner is not None:
        return None
    return fit.no_match_reason(pairs, violator)


def check_pages(host, request):
    """Page-size part of the fit, alone.

    :param host: :class:`model.Host` or None
    :param request: :class:`model.Request` or None
    :returns: None when some assignment of guest cells to distinct host
        cells has the requested pages free everywhere (or no page size is
        requested), else a reason naming page sizes and MiB free and needed
    """
    return _check(host, request, _page_rule, lambda gc: gc.pagesize)


def check_pinning(host, request):
    """Dedicated-pCPU and thread-policy part of the fit, alone.

    Counts free pCPUs per cell (with the emulator-thread pCPU), free full
    cores for ``isolate``, free sibling threads for ``require`` and the
    presence of SMT.

    :param host: :class:`model.Host` or None
    :param request: :class:`model.Request` or None
    :returns: None when it may fit (or nothing is pinned), else a reason
    """
    if request is not None and host is not None and host.cells:
        pinned = [gc for gc in request.cells if gc.pinned]
        if pinned:
            if host.smt_misfit(pinned):
                return host.smt_misfit(pinned)
            need = sum(gc.pcpus for gc in pinned)
            if request.cells[0].pinned:
                need += request.reserved_for(0)
            free = sum(hc.avail_pcpus for hc in host.cells)
            if need > free:
                return 'needs %d dedicated pCPUs, %d free on the host' % (
                    need, free)
    return _check(host, request, _pinning_rule, lambda gc: gc.pinned)
