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

"""Does a guest NUMA topology fit a host? A bipartite matching.

Nova tries every ordered choice of host cells (H!/(H-I)! of them). Whether
guest cell i fits host cell h does not depend on the other cells, so the
request fits exactly when the guest cells can be matched to distinct host
cells they each fit: at most H x I cell checks (fewer, identical guest
cells are checked once) and an augmenting-path matching.

Network affinity and PCI NUMA affinity depend only on *which* host cells
are used. When either is requested and the first matching's set of host
cells fails it, every other matchable set of I host cells is tried, so the
answer stays exact.
"""

import itertools

from nova_stx.scheduler.numa import cell_fit
from nova_stx.scheduler.numa import model

Verdict = model.Verdict

_MAX_LISTED = 3


def _bits(mask):
    pos = 0
    while mask:
        if mask & 1:
            yield pos
        mask >>= 1
        pos += 1


def match(adj, order, allowed=-1):
    """Kuhn's augmenting paths over bitmasks.

    :param adj: per guest index, a bitmask of host cell positions it fits
    :param order: guest indexes in the order to match them
    :param allowed: bitmask of host cell positions that may be used
    :returns: ``(owner, None)`` with ``owner[pos] = guest index`` when every
        guest is matched, else ``(None, (guests, hosts))``: a set of guest
        cells and the fewer host cells they can use between them
    """
    owner = {}

    def augment(guest, seen):
        free = adj[guest] & allowed & ~seen[0]
        for pos in _bits(free):
            seen[0] |= 1 << pos
            if pos not in owner:
                owner[pos] = guest
                return True
            seen[1].add(owner[pos])
            if augment(owner[pos], seen):
                owner[pos] = guest
                return True
        return False

    for guest in order:
        seen = [0, {guest}]
        if not augment(guest, seen):
            return None, (seen[1], seen[0])
    return owner, None


def _pages_allowed_free_kb(hc, pagesize):
    sizes = hc.page_sizes
    if pagesize == model.PAGESIZE_SMALL:
        sizes = sizes[:1]
    elif pagesize == model.PAGESIZE_LARGE:
        sizes = sizes[1:]
    elif pagesize != model.PAGESIZE_ANY:
        sizes = (pagesize,) if pagesize in hc.pages else ()
    # NOTE(nova-stx): a pool with more used+reserved than total pages must
    # not lower the sum below what the other cells offer.
    return max((max(0, hc.pages[s].free * s) for s in sizes), default=0)


def _whole_host_misfit(host, request):
    """Necessary conditions over the whole host, cheapest first."""
    cells = request.cells
    if len(host.cells) < len(cells):
        return 'guest has %d NUMA nodes, host has %d' % (
            len(cells), len(host.cells))
    pinned = [gc for gc in cells if gc.pinned]
    if pinned:
        if (any(gc.cpu_thread_policy == model.REQUIRE for gc in pinned) and
                not host.has_threads):
            return 'host has no SMT siblings (thread policy require)'
        need = sum(gc.pcpus for gc in pinned)
        if cells[0].pinned:
            need += request.reserved_for(0)
        free = sum(hc.avail_pcpus for hc in host.cells)
        if need > free:
            return 'needs %d dedicated pCPUs, %d free on the host' % (
                need, free)
    paged = [gc for gc in cells if gc.pagesize]
    if paged and len({gc.pagesize for gc in paged}) == 1:
        pagesize = paged[0].pagesize
        need = sum(gc.memory for gc in paged)
        free = sum(_pages_allowed_free_kb(hc, pagesize)
                   for hc in host.cells) // 1024
        if need > free:
            return 'needs %d MiB of %s pages, %d MiB free on the host' % (
                need, _page_text(pagesize), free)
    return None


def _page_text(pagesize):
    return {model.PAGESIZE_SMALL: 'small', model.PAGESIZE_LARGE: 'large',
            model.PAGESIZE_ANY: 'any'}.get(pagesize, '%d KiB' % pagesize)


def pair_matrix(host, request, limits=None, rule=cell_fit.misfit):
    """Which host cells each guest cell fits.

    :param rule: per-cell rule ``(hc, gc, limits, reserved) -> misfit``
    :returns: ``(adj, misfits)``: per guest index a bitmask of host cell
        positions and a tuple of misfits (None where it fits)
    """
    adj, misfits, memo = [], [], {}
    hcells = host.cells
    for gc in request.cells:
        reserved = request.reserved_for(gc.index)
        key = (gc.cpus, gc.pcpus, gc.memory, gc.pagesize, gc.cpu_policy,
               gc.cpu_thread_policy, reserved)
        got = memo.get(key)
        if got is None:
            row = tuple(rule(hc, gc, limits, reserved) for hc in hcells)
            mask = 0
            for pos, bad in enumerate(row):
                if bad is None:
                    mask |= 1 << pos
            got = memo[key] = (mask, row)
        adj.append(got[0])
        misfits.append(got[1])
    return adj, misfits


def _network_ok(host, request, ids):
    """Nova's network NUMA-affinity rule for a set of host cell ids."""
    chosen = [hc for hc in host.cells if hc.id in ids]
    if request.physnets:
        covered = set()
        for hc in chosen:
            covered |= hc.physnets
        missing = request.physnets - covered
        if any(missing & hc.physnets for hc in host.cells):
            return False
    if request.tunneled and not any(hc.tunneled for hc in chosen):
        if any(hc.tunneled for hc in host.cells):
            return False
    return True


def no_match_reason(host, request, misfits, adj, violator):
    for gc, mask, row in zip(request.cells, adj, misfits):
        if not mask:
            texts = [cell_fit.explain(m) for m in row[:_MAX_LISTED]]
            more = len(row) - _MAX_LISTED
            if more > 0:
                texts.append('%d more' % more)
            return 'guest cell %d fits no host cell: %s' % (
                gc.index, '; '.join(texts))
    guests, hosts = violator
    ids = [host.cells[pos].id for pos in _bits(hosts)]
    return 'guest cells %s fit only host cells %s' % (
        ', '.join(str(g) for g in sorted(guests)),
        ', '.join(str(i) for i in ids) or 'none')


def _assignment(host, owner, count):
    ids = [None] * count
    for pos, guest in owner.items():
        ids[guest] = host.cells[pos].id
    return tuple(ids)


def fit_host(host, request, limits=None, pci=None):
    """Decide whether ``request`` fits ``host``, exactly as Nova's rules.

    :param host: :class:`model.Host` or None (no host topology)
    :param request: :class:`model.Request` or None (nothing requested)
    :param limits: :class:`model.Limits` or None
    :param pci: None, or a callable taking a tuple of host cell ids and
        returning whether the instance's PCI requests can be met with those
        cells (see :mod:`nova_stx.scheduler.numa.pci`)
    :returns: :class:`model.Verdict`
    """
    if request is None:
        return Verdict(True)
    if not request.cells:
        return Verdict(False, 'guest NUMA topology has no cells')
    if host is None or not host.cells:
        return Verdict(False, 'host reports no NUMA topology')
    reason = _whole_host_misfit(host, request)
    if reason:
        return Verdict(False, reason)
    adj, misfits = pair_matrix(host, request, limits)
    count = len(request.cells)
    order = sorted(range(count), key=lambda i: bin(adj[i]).count('1'))
    owner, violator = match(adj, order)
    if owner is None:
        reason = no_match_reason(host, request, misfits, adj, violator)
        return Verdict(False, reason)
    if not (request.physnets or request.tunneled or pci):
        return Verdict(True, None, _assignment(host, owner, count))
    return _fit_with_set_rules(host, request, adj, order, owner, pci)


def _fit_with_set_rules(host, request, adj, order, owner, pci):
    count = len(request.cells)

    def set_ok(positions):
        ids = frozenset(host.cells[pos].id for pos in positions)
        if not _network_ok(host, request, ids):
            return False
        return pci is None or pci(tuple(sorted(ids)))

    first = tuple(sorted(owner))
    if set_ok(first):
        return Verdict(True, None, _assignment(host, owner, count))
    usable = 0
    for mask in adj:
        usable |= mask
    for positions in itertools.combinations(_bits(usable), count):
        if positions == first:
            continue
        allowed = 0
        for pos in positions:
            allowed |= 1 << pos
        owner, _ = match(adj, order, allowed)
        if owner is not None and set_ok(positions):
            return Verdict(True, None, _assignment(host, owner, count))
    what = ' and '.join(
        w for w, on in (('network', request.physnets or request.tunneled),
                        ('PCI', pci)) if on)
    return Verdict(False, 'no usable set of host cells meets the %s NUMA '
                   'affinity' % what)
