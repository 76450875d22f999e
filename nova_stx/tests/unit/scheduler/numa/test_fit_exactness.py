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

"""Property tests: ``fit_host`` answers exactly like Nova's per-cell rules.

Random hosts are built as Nova ``NUMATopology`` objects and random requests
with Nova's ``hardware.numa_get_constraints`` from random flavor extra
specs; the reference answer is ``nova_objects.oracle_fits`` (Nova's
per-cell rule on fresh clones plus an exhaustive assignment search).

Profiles (``HYPOTHESIS_PROFILE``): ``ci`` (default, well under 90 s on one
core), ``thorough`` (10x the examples).
"""

import collections
import logging
import math
import os
import random
import sys

import fixtures
import hypothesis
from hypothesis import strategies as st
from nova import exception
from nova.virt import hardware
from oslotest import base

from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import precheck
from nova_stx.tests.unit.scheduler.numa import nova_objects as no

_COMMON = dict(deadline=None, database=None, derandomize=True,
               suppress_health_check=list(hypothesis.HealthCheck),
               print_blob=True)
hypothesis.settings.register_profile('ci', max_examples=4000, **_COMMON)
hypothesis.settings.register_profile('thorough', max_examples=40000,
                                     **_COMMON)
_PROFILE = hypothesis.settings.get_profile(
    os.environ.get('HYPOTHESIS_PROFILE', 'ci'))

# Upstream's own full search is factorial; only ask it when it is cheap.
_MAX_UPSTREAM_PERMUTATIONS = 400

_PAGE_SPECS = [None, None, None, 'small', 'large', 'large', 'any', '2MB',
               '1GB', '2048', '1048576', '4']
_PHYSNETS = ('foo', 'bar', 'baz')
_MEMORY_PER_NODE = [512, 1000, 1024, 1024, 1536, 2048, 2048, 3072, 4096]

OBSERVED = collections.Counter()


def _host_cells(rng, n_cells, networks=False):
    threads = rng.choice([1, 2, 2, 2, 4])
    cores = rng.randint(1, 8)
    legacy = rng.random() < 0.1
    load = rng.choice([0.0, 0.0, 0.1, 0.2, 0.4, 0.7])
    cells, cpu = [], 0
    for cid in range(n_cells):
        siblings, shared, dedicated = [], set(), set()
        for core in range(cores):
            width = threads
            if threads > 1 and rng.random() < 0.1:
                width = rng.randint(1, threads)      # offline threads
            sib = set(range(cpu, cpu + width))
            cpu += threads
            siblings.append(sib)
            if rng.random() < 0.1:                  # split core
                for c in sib:
                    (shared if rng.random() < 0.5 else dedicated).add(c)
            elif core < rng.choice([0, 0, 1, 2]):
                shared |= sib
            else:
                dedicated |= sib
        if legacy:
            shared = dedicated = shared | dedicated
        pinned = {c for c in dedicated if rng.random() < load}
        memory = rng.choice([4096, 8192, 16384, 32768])
        mempages = []

        def used(total):
            return min(total, int(total * load * 2 * rng.random()))

        if rng.random() < 0.9:
            g1 = rng.randint(0, memory // 1536)
            m2 = rng.randint(0, (memory - g1 * 1024) // 3)
            k4 = (memory - g1 * 1024 - m2 * 2) * 256
            if rng.random() < 0.9:
                mempages.append(no.pages(no.KIB_4K, k4, used(k4)))
            if rng.random() < 0.8:
                u2 = used(m2)
                mempages.append(no.pages(no.KIB_2M, m2, u2,
                                         rng.choice([0, 0, m2 - u2])))
            if rng.random() < 0.7:
                u1 = used(g1)
                mempages.append(no.pages(no.KIB_1G, g1, u1,
                                         rng.choice([0, 0, 0, g1 - u1])))
        cells.append(no.objects.NUMACell(
            id=cid, cpuset=shared, pcpuset=dedicated, memory=memory,
            memory_usage=used(memory),
            cpu_usage=used(4 * len(shared) + 1),
            pinned_cpus=pinned, siblings=siblings, mempages=mempages,
            socket=cid // 2,
            network_metadata=no.objects.NetworkMetadata(
                physnets={p for p in _PHYSNETS
                          if networks and rng.random() < 0.2},
                tunneled=networks and rng.random() < 0.2)))
    return no.host(*cells)


def _extra_specs(rng, nodes):
    specs = {}
    policy = rng.choice(['shared', 'dedicated', 'dedicated', 'mixed'])
    per_node = rng.choice([1, 1, 2, 2, 3, 4])
    vcpus = per_node * nodes
    mems = [rng.choice(_MEMORY_PER_NODE) for _ in range(nodes)]
    if rng.random() < 0.7:
        mems = [mems[0]] * nodes
    if policy != 'shared' or rng.random() < 0.5:
        specs['hw:cpu_policy'] = policy
    if policy == 'mixed':
        if vcpus < 2:
            vcpus, per_node = 2 * nodes, 2
        dedicated = sorted(rng.sample(range(vcpus),
                                      rng.randint(1, vcpus - 1)))
        specs['hw:cpu_dedicated_mask'] = ','.join(map(str, dedicated))
    if policy != 'shared':
        thread = rng.choice([None, None, 'prefer', 'isolate', 'require'])
        if thread:
            specs['hw:cpu_thread_policy'] = thread
        if rng.random() < 0.3:
            specs['hw:emulator_threads_policy'] = 'isolate'
    if nodes > 1 or rng.random() < 0.5:
        specs['hw:numa_nodes'] = str(nodes)
    page = rng.choice(_PAGE_SPECS)
    if page:
        specs['hw:mem_page_size'] = page
    if nodes > 1 and (len(set(mems)) > 1 or rng.random() < 0.3):
        cpus = list(range(vcpus))
        rng.shuffle(cpus)
        cuts = sorted(rng.sample(range(1, vcpus), nodes - 1))
        parts = [cpus[a:b] for a, b in zip([0] + cuts, cuts + [vcpus])]
        for n, (part, mem) in enumerate(zip(parts, mems)):
            specs['hw:numa_cpus.%d' % n] = ','.join(map(str, sorted(part)))
            specs['hw:numa_mem.%d' % n] = str(mem)
    return vcpus, sum(mems), specs


def make_case(seed, n_hosts, nodes):
    """A random host, request and limits, or None for an invalid request.

    :returns: ``(NUMATopology, InstanceNUMATopology, NUMATopologyLimits)``
    """
    rng = random.Random(seed)
    networks = rng.random() < 0.25
    host = _host_cells(rng, n_hosts, networks)
    vcpus, memory, specs = _extra_specs(rng, nodes)
    try:
        request = no.constraints(vcpus, memory, specs)
    except (exception.Invalid, exception.InvalidRequest,
            exception.NovaException):
        return None
    if request is None:
        return None
    nova_limits = no.limits(rng.choice([1.0, 2.0, 4.0, 16.0]),
                            rng.choice([1.0, 1.5]))
    if networks:
        nova_limits.network_metadata = no.objects.NetworkMetadata(
            physnets={p for p in _PHYSNETS if rng.random() < 0.3},
            tunneled=rng.random() < 0.3)
    return host, request, nova_limits


@st.composite
def cases(draw):
    n_hosts = draw(st.one_of(st.integers(1, 4), st.integers(1, 8),
                             st.integers(1, 16)))
    nodes = draw(st.one_of(st.integers(1, 2), st.integers(1, 4),
                           st.integers(1, min(8, n_hosts))))
    case = make_case(draw(st.integers(0, 2 ** 32)), n_hosts, nodes)
    hypothesis.assume(case is not None)
    return case


def _network(nova_limits):
    if 'network_metadata' in nova_limits:
        return nova_limits.network_metadata
    return None


def _ours(host, request, nova_limits):
    return (from_nova.host_from_nova(host),
            from_nova.request_from_nova(request, _network(nova_limits)),
            from_nova.limits_from_nova(nova_limits))


class _QuietNova(fixtures.Fixture):
    """Nova's fitting code logs a WARNING per isolate-on-SMT attempt."""

    def _setUp(self):
        log = logging.getLogger('nova.virt.hardware')
        self.addCleanup(log.setLevel, log.level)
        log.setLevel(logging.ERROR)


class FitExactnessTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(_QuietNova())

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if OBSERVED:
            sys.stderr.write('\nnuma fit exactness: %s\n' % dict(OBSERVED))

    @_PROFILE
    @hypothesis.given(cases())
    def test_fit_host_equals_oracle(self, case):
        host, request, nova_limits = case
        h, r, lim = _ours(host, request, nova_limits)
        verdict = fit.fit_host(h, r, lim)
        expected = no.oracle_fits(host, request, nova_limits,
                                  _network(nova_limits))
        OBSERVED['cases'] += 1
        OBSERVED['fits' if expected else 'no fit'] += 1
        if r.physnets or r.tunneled:
            OBSERVED['with network affinity'] += 1
        self.assertEqual(expected, verdict.fits, verdict.reason)
        if verdict.fits:
            pairs = no.pair_fits(host, request, nova_limits)
            pos = {c.id: p for p, c in enumerate(host.cells)}
            self.assertEqual(len(set(verdict.assignment)),
                             len(verdict.assignment))
            for i, cell_id in enumerate(verdict.assignment):
                self.assertIn((pos[cell_id], i), pairs)
            if _network(nova_limits) is not None:
                chosen = [host.cells[pos[i]] for i in verdict.assignment]
                self.assertTrue(hardware._numa_cells_support_network_metadata(
                    host, chosen, _network(nova_limits)))
        else:
            self.assertTrue(verdict.reason)
        for name, check in (('check_pages', precheck.check_pages),
                            ('check_pinning', precheck.check_pinning)):
            reason = check(h, r)
            if reason is not None:
                OBSERVED['%s rejects' % name] += 1
                self.assertFalse(verdict.fits, '%s: %s' % (name, reason))

    @hypothesis.settings(_PROFILE, max_examples=_PROFILE.max_examples // 3)
    @hypothesis.given(cases())
    def test_fit_host_accepts_what_upstream_accepts(self, case):
        host, request, nova_limits = case
        hypothesis.assume(math.perm(len(host.cells), len(request.cells)) <=
                          _MAX_UPSTREAM_PERMUTATIONS)
        upstream = hardware.numa_fit_instance_to_host(
            host, request.obj_clone(), None, limits=nova_limits) is not None
        ours = fit.fit_host(*_ours(host, request, nova_limits)).fits
        OBSERVED['upstream compared'] += 1
        if upstream == ours:
            return
        oracle = no.oracle_fits(host, request, nova_limits,
                                _network(nova_limits))
        self.assertEqual(oracle, ours)
        # NOTE(nova-stx): upstream's pair cache bug (see numa-fit.rst).
        OBSERVED['upstream false %s' % ('positive' if upstream
                                        else 'negative')] += 1
