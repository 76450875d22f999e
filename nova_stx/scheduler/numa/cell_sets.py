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

"""Find a set of host cells that meets network and PCI NUMA affinity.

Both rules look only at *which* host cells the guest uses, and only at a
few things about each: the physnets (and tunnel) the request needs that
the cell carries, whether the cell has PCI devices matching the request,
and its socket when a request has ``numa_policy=socket``. Cells alike in
those respects give the same answer, so each cell gets a *key* and the
rules are decided once per set of keys. There are few distinct sets of
keys when devices and physnets sit on a few cells, however many cells the
host has: a host without matching devices has one.

A set of keys Q is usable when some matching of the guest cells uses only
cells with keys in Q and at least one cell of each key. That is decided
in polynomial time: match the keys of Q to distinct guest cells (a guest
cell may take a key when it fits one of its cells), then extend that to a
matching of every guest cell within Q's cells; augmenting paths never
free a cell, and any partial matching extends to a full one when a full
one exists (transversal matroid).

Set covering is hard in general (many cells, each with different devices,
many guest cells), so the search stops after :data:`MAX_CELL_SETS`
candidate sets and rejects the host with a reason saying so. The
candidates are the sets of cells or the sets of keys, whichever are
fewer; the limit is only reached when many usable cells have different
devices or physnets and the first sets tried all fail.
"""

import itertools
import math

#: Candidate sets examined per host before the search gives up.
MAX_CELL_SETS = 256
#: Evaluations of Nova's PCI decision per host before the search gives up
#: (each costs up to a few milliseconds with many cells and devices).
MAX_PCI_CHECKS = 32


def kuhn(adj, left, owner):
    """Extend a bipartite matching to cover every vertex of ``left``.

    :param adj: ``adj[l]`` is a bitmask of the right vertices of ``l``
    :param left: left vertices to match, in order
    :param owner: ``{right: left}``, extended in place; matched right
        vertices stay matched
    :returns: whether every vertex of ``left`` is matched
    """
    def augment(vertex, seen):
        mask = adj[vertex] & ~seen[0]
        while mask:
            low = mask & -mask
            mask ^= low
            seen[0] |= low
            right = low.bit_length() - 1
            if right not in owner or augment(owner[right], seen):
                owner[right] = vertex
                return True
        return False

    matched = set(owner.values())
    return all(vertex in matched or augment(vertex, [0]) for vertex in left)


class _Rules:
    """Network and PCI rules, decided per set of cell keys."""

    def __init__(self, host, request, pci):
        self.host, self.request, self.pci = host, request, pci
        self.physnets = request.physnets
        needed = frozenset()
        for hc in host.cells:
            needed |= hc.physnets & request.physnets
        self.needed = needed
        self.tunnel = request.tunneled and any(
            hc.tunneled for hc in host.cells)
        relevant = getattr(pci, 'relevant', None)
        by_socket = getattr(pci, 'by_socket', False)

        def key(hc):
            device = hc.id
            if pci is None or (relevant is not None and hc.id not in relevant):
                device = None
            return (device is None, device,
                    hc.socket if by_socket else None,
                    tuple(sorted(hc.physnets & self.physnets)),
                    bool(self.tunnel and hc.tunneled))

        self.keys = [key(hc) for hc in host.cells]
        self.known = {}
        self.pci_checks = 0

    def network_ok(self, keys):
        covered = set()
        tunnel = False
        for key in keys:
            covered.update(key[3])
            tunnel = tunnel or key[4]
        return covered >= self.needed and (tunnel or not self.tunnel)

    def ok(self, signature, positions):
        """Both rules for the cells at ``positions`` (keys ``signature``)."""
        if signature not in self.known:
            good = self.network_ok(signature)
            if good and self.pci is not None:
                self.pci_checks += 1
                good = self.pci(tuple(sorted(
                    self.host.cells[p].id for p in positions)))
            self.known[signature] = good
        return self.known[signature]


def _rows(pairs, positions):
    count = len(pairs.request.cells)
    rows = [0] * count
    for guest in range(count):
        for pos in positions:
            if pairs.fits(guest, pos):
                rows[guest] |= 1 << pos
    return rows


def _with_keys(rows, groups, count):
    """A matching using cells of ``groups`` only, each group at least once.

    :returns: ``{position: guest}`` or None
    """
    guest_masks = []
    for group in groups:
        mask = 0
        for guest in range(count):
            if any(rows[guest] >> pos & 1 for pos in group):
                mask |= 1 << guest
        guest_masks.append(mask)
    by_guest = {}
    if not kuhn(guest_masks, range(len(groups)), by_guest):
        return None
    owner = {}
    for guest, index in by_guest.items():
        pos = next(p for p in groups[index] if rows[guest] >> p & 1)
        owner[pos] = guest
    allowed = sum(1 << pos for group in groups for pos in group)
    adj = [row & allowed for row in rows]
    return owner if kuhn(adj, range(count), owner) else None


def find(pairs, first, pci, limit=MAX_CELL_SETS, pci_limit=MAX_PCI_CHECKS):
    """Find host cells for every guest cell that meet the set rules.

    :param pairs: :class:`fit.Pairs`
    :param first: ``{position: guest}``, a matching found without the rules
    :param pci: None or a callable taking host cell ids (see
        :class:`~nova_stx.scheduler.numa.pci.PciCheck`)
    :param limit: candidate sets to examine before giving up
    :param pci_limit: evaluations of ``pci`` before giving up
    :returns: ``({position: guest}, None)``, or ``(None, reason)``
    """
    host, request = pairs.host, pairs.request
    rules = _Rules(host, request, pci)
    keys = rules.keys

    def signature(positions):
        return frozenset(keys[pos] for pos in positions)

    if rules.ok(signature(first), first):
        return first, None
    count = len(request.cells)
    rows = _rows(pairs, range(len(host.cells)))
    usable = [pos for pos in range(len(host.cells))
              if any(row >> pos & 1 for row in rows)]
    groups = {}
    for pos in usable:
        groups.setdefault(keys[pos], []).append(pos)
    ordered = sorted(groups)
    n_cells = math.comb(len(usable), count)
    n_keys = sum(math.comb(len(ordered), k)
                 for k in range(1, min(count, len(ordered)) + 1))
    if n_cells <= n_keys:
        candidates = _cell_candidates(usable, count, rows, signature)
    else:
        candidates = _key_candidates(ordered, groups, count, rows)
    tried = 0
    for sig, matching in candidates:
        tried += 1
        if tried > limit or rules.pci_checks >= pci_limit:
            return None, (
                'no set of host cells meets the %s NUMA affinity among the '
                '%d sets tried (nova-stx stops at %d sets or %d PCI checks '
                'per host)' % (_what(request, pci), tried - 1, limit,
                               pci_limit))
        if rules.known.get(sig) is False or not rules.network_ok(sig):
            continue
        owner = matching()
        if owner is not None and rules.ok(sig, owner):
            return owner, None
    return None, ('no usable set of host cells meets the %s NUMA affinity'
                  % _what(request, pci))


def _cell_candidates(usable, count, rows, signature):
    """Every set of ``count`` usable cells, and how to match within it."""
    def matching(positions):
        allowed = sum(1 << pos for pos in positions)
        owner = {}
        if kuhn([row & allowed for row in rows], range(count), owner):
            return owner
        return None

    for positions in itertools.combinations(usable, count):
        yield signature(positions), lambda p=positions: matching(p)


def _key_candidates(ordered, groups, count, rows):
    """Every set of keys, largest first, and how to match using exactly it."""
    def matching(sig):
        chosen = [groups[key] for key in sig]
        if sum(map(len, chosen)) < count:
            return None
        return _with_keys(rows, chosen, count)

    for size in range(min(count, len(ordered)), 0, -1):
        for sig in itertools.combinations(ordered, size):
            yield frozenset(sig), lambda s=sig: matching(s)


def _what(request, pci):
    return ' and '.join(
        w for w, on in (('network', request.physnets or request.tunneled),
                        ('PCI', pci)) if on)
