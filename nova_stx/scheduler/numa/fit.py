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
cells they each fit. We run augmenting paths (Kuhn's algorithm) and check
a (host cell, guest cell) pair only when the search first needs it, once
per distinct guest cell: at most H x I checks, usually about I.

Network affinity and PCI NUMA affinity depend only on *which* host cells
are used. When either is requested and the first matching's set of host
cells fails it, :mod:`~nova_stx.scheduler.numa.cell_sets` looks for
another set, in bounded time.
"""

from nova_stx.scheduler.numa import cell_fit
from nova_stx.scheduler.numa import cell_sets
from nova_stx.scheduler.numa import model

Verdict = model.Verdict

_MAX_LISTED = 3


class Pairs:
    """The per-cell rule over (guest index, host position), memoised.

    :param rule: ``(hc, gc, limits, reserved) -> misfit or None``
    """

    def __init__(self, host, request, limits=None, rule=cell_fit.misfit):
        self.host = host
        self.request = request
        self.limits = limits
        self.rule = rule
        self.reserved = [request.reserved_for(gc.index)
                         for gc in request.cells]
        # NOTE(nova-stx): identical guest cells share one memo row.
        self.keys = [(gc.cpus, gc.pcpus, gc.memory, gc.pagesize,
                      gc.cpu_policy, gc.cpu_thread_policy, reserved)
                     for gc, reserved in zip(request.cells, self.reserved)]
        self.memo = {}

    def misfit(self, guest, pos):
        """None if guest cell ``guest`` fits host cell at ``pos``."""
        key = (self.keys[guest], pos)
        try:
            return self.memo[key]
        except KeyError:
            got = self.memo[key] = self.rule(
                self.host.cells[pos], self.request.cells[guest],
                self.limits, self.reserved[guest])
            return got

    def fits(self, guest, pos):
        return self.misfit(guest, pos) is None


def _bits(mask):
    pos = 0
    while mask:
        if mask & 1:
            yield pos
        mask >>= 1
        pos += 1


def match(pairs, allowed=None):
    """Assign guest cells to distinct host cells they fit.

    A greedy pass first (it checks about one pair per guest cell when the
    host has room), then, if it gets stuck, augmenting paths over the full
    rows of the guest cells.

    :param pairs: :class:`Pairs`
    :param allowed: host positions that may be used (default all)
    :returns: ``(owner, None)`` with ``owner[pos] = guest index`` when every
        guest cell is placed, else ``(None, (guests, positions))``: guest
        cells that between them fit only the fewer host cells listed
    """
    positions = range(len(pairs.host.cells)) if allowed is None else allowed
    count = len(pairs.request.cells)
    misfit = pairs.misfit
    owner = {}
    for guest in range(count):
        for pos in positions:
            if pos not in owner and misfit(guest, pos) is None:
                owner[pos] = guest
                break
        else:
            break
    else:
        return owner, None
    rows = {}
    adj = []
    for guest in range(count):
        key = pairs.keys[guest]
        if key not in rows:
            mask = 0
            for pos in positions:
                if misfit(guest, pos) is None:
                    mask |= 1 << pos
            rows[key] = mask
        adj.append(rows[key])
    owner = {}

    def augment(guest, seen):
        for pos in _bits(adj[guest] & ~seen[0]):
            seen[0] |= 1 << pos
            if pos not in owner or augment(owner[pos], seen):
                owner[pos] = guest
                return True
        return False

    for guest in range(count):
        seen = [0]
        if not augment(guest, seen):
            taken = list(_bits(seen[0]))
            return None, ({guest} | {owner[p] for p in taken}, taken)
    return owner, None


def _nowhere(gc, misfits):
    texts = [cell_fit.explain(m) for m in misfits[:_MAX_LISTED]]
    if len(misfits) > _MAX_LISTED:
        texts.append('%d more' % (len(misfits) - _MAX_LISTED))
    return 'guest cell %d fits no host cell: %s' % (gc.index,
                                                    '; '.join(texts))


def no_match_reason(pairs, violator):
    """Explain a failed :func:`match`."""
    guests, positions = violator
    hcells = pairs.host.cells
    if len(guests) == 1:
        guest = next(iter(guests))
        return _nowhere(pairs.request.cells[guest],
                        [pairs.misfit(guest, pos)
                         for pos in range(len(hcells))])
    return 'guest cells %s fit only host cells %s' % (
        ', '.join(str(g) for g in sorted(guests)),
        ', '.join(str(hcells[p].id) for p in sorted(positions)) or 'none')


def _whole_host_misfit(host, request):
    """Necessary conditions over the whole host, cheapest first."""
    cells = request.cells
    if len(host.cells) < len(cells):
        return 'guest has %d NUMA nodes, host has %d' % (
            len(cells), len(host.cells))
    pinned = [gc for gc in cells if gc.pinned]
    if pinned and len(cells) > 1:
        if host.smt_misfit(pinned):
            return host.smt_misfit(pinned)
        needs = [gc.pcpus + request.reserved_for(gc.index) for gc in pinned]
        frees = [hc.avail_pcpus for hc in host.cells]
        if sum(needs) > sum(frees):
            return 'needs %d dedicated pCPUs, %d free on the host' % (
                sum(needs), sum(frees))
        # NOTE(nova-stx): the k largest guest cells need k distinct host
        # cells with at least the k-th largest need free.
        needs.sort(reverse=True)
        frees.sort(reverse=True)
        for k, (need, free) in enumerate(zip(needs, frees), 1):
            if need > free:
                return ('%d guest cell(s) need %d or more dedicated pCPUs '
                        'each, %d host cell(s) have that many free' % (
                            k, need, sum(1 for f in frees if f >= need)))
    return None


def _assignment(host, owner, count):
    ids = [None] * count
    for pos, guest in owner.items():
        ids[guest] = host.cells[pos].id
    return tuple(ids)


def fit_host(host, request, limits=None, pci=None, rule=cell_fit.misfit):
    """Decide whether ``request`` fits ``host``, exactly as Nova's rules.

    :param host: :class:`model.Host` or None (no host topology)
    :param request: :class:`model.Request` or None (nothing requested)
    :param limits: :class:`model.Limits` or None
    :param pci: None, or a callable taking a tuple of host cell ids and
        returning whether the instance's PCI requests can be met with those
        cells (see :mod:`nova_stx.scheduler.numa.pci`)
    :param rule: the per-cell rule, ``(hc, gc, limits, reserved) -> misfit
        or None``
    :returns: :class:`model.Verdict`; malformed host data (overlapping
        sibling sets) gives a verdict with that reason
    """
    if request is None:
        return Verdict(True)
    if not request.cells:
        return Verdict(False, 'guest NUMA topology has no cells')
    if host is None or not host.cells:
        return Verdict(False, 'host reports no NUMA topology')
    try:
        return _fit(host, request, limits, pci, rule)
    except model.MalformedHostTopology as exc:
        return Verdict(False, str(exc))


def _fit(host, request, limits, pci, rule):
    set_rules = request.physnets or request.tunneled or pci
    if len(request.cells) == 1 and not set_rules:
        # NOTE(nova-stx): the common case; the first host cell that fits
        # is the answer.
        gc = request.cells[0]
        reserved = request.reserved_for(0)
        misfits = []
        for hc in host.cells:
            misfit = rule(hc, gc, limits, reserved)
            if misfit is None:
                return Verdict(True, None, (hc.id,))
            misfits.append(misfit)
        return Verdict(False, _nowhere(gc, misfits))
    reason = _whole_host_misfit(host, request)
    if reason:
        return Verdict(False, reason)
    pairs = Pairs(host, request, limits, rule)
    owner, violator = match(pairs)
    if owner is None:
        return Verdict(False, no_match_reason(pairs, violator))
    if set_rules:
        return _fit_with_set_rules(pairs, owner, pci)
    return Verdict(True, None, _assignment(host, owner, len(request.cells)))


def _fit_with_set_rules(pairs, owner, pci):
    owner, reason = cell_sets.find(pairs, owner, pci)
    if owner is None:
        return Verdict(False, reason)
    return Verdict(True, None, _assignment(pairs.host, owner,
                                           len(pairs.request.cells)))


def first_assignment(host, request, limits=None, host_cell_ids=None,
                     rule=cell_fit.misfit):
    """The assignment Nova's search would find first, if its cache worked.

    Nova tries host cells in order for guest cell 0, then 1, ...; the first
    ordered choice in which every pair fits is the lexicographically first
    assignment over ``host.cells`` in their order. We build it guest cell
    by guest cell, keeping a host cell only when the remaining guest cells
    can still be matched (polynomial: at most H x I matchings).

    :param host: :class:`model.Host`, cells in the order to prefer
    :param request: :class:`model.Request`
    :param limits: :class:`model.Limits` or None
    :param host_cell_ids: use only these host cells (default all)
    :param rule: the per-cell rule
    :returns: host cell id per guest cell index, or None
    """
    pairs = Pairs(host, request, limits, rule)
    count = len(request.cells)
    positions = [pos for pos, hc in enumerate(host.cells)
                 if host_cell_ids is None or hc.id in host_cell_ids]
    rows = [sum(1 << pos for pos in positions if pairs.fits(guest, pos))
            for guest in range(count)]
    taken = 0
    chosen = []
    for guest in range(count):
        for pos in positions:
            bit = 1 << pos
            if taken & bit or not rows[guest] & bit:
                continue
            rest = [row & ~(taken | bit) for row in rows[guest + 1:]]
            if cell_sets.kuhn(rest, range(len(rest)), {}):
                taken |= bit
                chosen.append(host.cells[pos].id)
                break
        else:
            return None
    return tuple(chosen)
