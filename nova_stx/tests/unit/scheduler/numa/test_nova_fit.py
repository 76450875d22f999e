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

"""The exact fit in Nova's contract, against Nova's own code.

Differential: on the property-test generator and on cases where upstream
is known to be wrong, every result of :func:`nova_fit.fit_instance` is a
valid topology (an independent check and Nova's own
``numa_usage_from_instance_numa``), agrees with the filter's decision and
with the reference answer. The counts are printed once per run.
"""

import collections
import math
import random
import sys
from unittest import mock

import fixtures
import hypothesis
from hypothesis import strategies as st
from nova import objects
from nova.pci import stats
from nova.virt import hardware
from oslotest import base

from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import nova_fit
from nova_stx.tests.unit.scheduler.numa import nova_objects as no
from nova_stx.tests.unit.scheduler.numa import pci_cases
from nova_stx.tests.unit.scheduler.numa import test_fit_exactness as tfe
from nova_stx.tests.unit.scheduler.numa import topology_check

_MAX_UPSTREAM_PERMUTATIONS = 400

#: (seed, host cells, guest nodes) of ``test_fit_exactness.make_case``
#: where upstream refuses a host that fits ...
UPSTREAM_FALSE_REJECTIONS = [
    (1352115559, 3, 1), (1022209633, 4, 4), (1921593863, 4, 4),
    (2017461729, 4, 2), (2922031074, 4, 3), (2457548245, 8, 2),
    (2080497112, 6, 3)]
#: ... or accepts with a pinning Nova's own accounting refuses.
UPSTREAM_INVALID_ACCEPTANCES = [
    (2966814207, 4, 1), (4006063270, 2, 2), (2683494663, 5, 4),
    (2679751060, 5, 3), (1849209137, 8, 1)]

COUNTS = collections.Counter()


def _describe(topology):
    return [(c.id, c.cpu_pinning_raw if 'cpu_pinning_raw' in c else None,
             c.pagesize if 'pagesize' in c else None)
            for c in topology.cells]


class _Differential(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(tfe._QuietNova())

    def _check(self, host, request, nova_limits, kind):
        """Assert the exact fit is right and valid; count upstream."""
        before = _describe(request)
        fitted, reason = nova_fit.fit_instance(host, request, None,
                                               nova_limits)
        self.assertEqual(before, _describe(request), 'input modified')
        expected = no.oracle_fits(host, request, nova_limits,
                                  tfe._network(nova_limits))
        verdict = fit.fit_host(*tfe._ours(host, request, nova_limits))
        COUNTS[kind + ' cases'] += 1
        self.assertEqual(expected, fitted is not None, reason)
        self.assertEqual(verdict.fits, fitted is not None)
        if fitted is None:
            self.assertEqual(verdict.reason, reason)
            return None
        COUNTS[kind + ' fit'] += 1
        self.assertEqual([], topology_check.problems(host, request, fitted))
        self.assertIsNot(False, topology_check.nova_accepts(host, fitted))
        if math.perm(len(host.cells), len(request.cells)) > (
                _MAX_UPSTREAM_PERMUTATIONS):
            return fitted
        upstream = hardware.numa_fit_instance_to_host(
            host, request.obj_clone(), None, limits=nova_limits)
        if upstream is None:
            COUNTS[kind + ' upstream false rejections'] += 1
        elif topology_check.problems(host, request, upstream) or (
                topology_check.nova_accepts(host, upstream) is False):
            COUNTS[kind + ' upstream invalid acceptances'] += 1
        elif _describe(upstream) == _describe(fitted):
            COUNTS[kind + ' same topology as upstream'] += 1
        else:
            COUNTS[kind + ' both valid, different topology'] += 1
        return fitted

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if COUNTS:
            sys.stderr.write('\nexact claim differential: %s\n' %
                             dict(sorted(COUNTS.items())))


class FitInstanceDifferentialTestCase(_Differential):

    @hypothesis.settings(tfe._PROFILE,
                         max_examples=tfe._PROFILE.max_examples // 4)
    @hypothesis.given(tfe.cases())
    def test_fit_instance_valid_and_exact(self, case):
        self._check(*case, kind='generated')

    def test_fit_instance_where_upstream_falsely_rejects(self):
        for seed, cells, nodes in UPSTREAM_FALSE_REJECTIONS:
            host, request, nova_limits = tfe.make_case(seed, cells, nodes)
            self.assertIsNone(hardware.numa_fit_instance_to_host(
                host, request.obj_clone(), None, limits=nova_limits))
            self.assertIsNotNone(self._check(host, request, nova_limits,
                                             'known-wrong'))

    def test_fit_instance_where_upstream_accepts_invalid(self):
        for seed, cells, nodes in UPSTREAM_INVALID_ACCEPTANCES:
            host, request, nova_limits = tfe.make_case(seed, cells, nodes)
            upstream = hardware.numa_fit_instance_to_host(
                host, request.obj_clone(), None, limits=nova_limits)
            self.assertTrue(
                topology_check.problems(host, request, upstream) or
                topology_check.nova_accepts(host, upstream) is False)
            self._check(host, request, nova_limits, 'known-wrong')


class FitInstancePciTestCase(_Differential):

    @hypothesis.settings(max_examples=150, **tfe._COMMON)
    @hypothesis.given(st.integers(0, 2 ** 32), st.integers(1, 6),
                      st.integers(1, 3))
    def test_fit_instance_with_pci_and_networks(self, seed, n_cells, nodes):
        hypothesis.assume(nodes <= n_cells)
        rng = random.Random(seed)
        host, pci_stats = pci_cases.host(rng, n_cells)
        requests = pci_cases.pci_requests(rng)
        request = pci_cases.request(nodes)
        nova_limits = no.limits()
        network = pci_cases.network(rng)
        if network is not None:
            nova_limits.network_metadata = network
        fitted, reason = nova_fit.fit_instance(
            host, request, None, nova_limits, requests, pci_stats)
        expected = pci_cases.reference(host, pci_stats, requests, request,
                                       nova_limits, network)
        self.assertEqual(expected, fitted is not None, reason)
        if fitted is not None:
            self.assertEqual([], topology_check.problems(host, request,
                                                         fitted))
            self.assertTrue(pci_cases.supports(
                pci_stats, requests, [c.id for c in fitted.cells]))


class FitInstanceTestCase(base.BaseTestCase):

    def _host(self, cells=4):
        return no.host(*[no.host_cell(i, 4, 2, memory=8192)
                         for i in range(cells)])

    def _request(self, nodes=2, **extra):
        specs = {'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': str(nodes)}
        specs.update(extra)
        return no.constraints(2 * nodes, 1024 * nodes, specs)

    def test_fit_instance_pins_with_nova_per_cell_code(self):
        real = hardware._numa_fit_instance_cell
        spy = self.useFixture(fixtures.MockPatchObject(
            hardware, '_numa_fit_instance_cell', side_effect=real)).mock
        fitted, reason = nova_fit.fit_instance(self._host(), self._request(),
                                               None, no.limits())
        self.assertIsNone(reason)
        self.assertEqual(2, spy.call_count)
        self.assertEqual([0, 1], [c.id for c in fitted.cells])
        self.assertIsNone(fitted.emulator_threads_policy)

    def test_fit_instance_retries_when_nova_refuses_a_pair(self):
        real = hardware._numa_fit_instance_cell

        def refuse_cell_0(host_cell, instance_cell, limits, reserved):
            if host_cell.id == 0:
                return None
            return real(host_cell, instance_cell, limits, reserved)

        self.useFixture(fixtures.MockPatchObject(
            hardware, '_numa_fit_instance_cell', side_effect=refuse_cell_0))
        fitted, reason = nova_fit.fit_instance(self._host(), self._request(),
                                               None, no.limits())
        self.assertEqual([1, 2], [c.id for c in fitted.cells])

    def test_fit_instance_reason_is_the_filters(self):
        host = self._host(2)
        request = no.constraints(20, 2048, {'hw:cpu_policy': 'dedicated',
                                            'hw:numa_nodes': '2'})
        fitted, reason = nova_fit.fit_instance(host, request, None,
                                               no.limits())
        self.assertIsNone(fitted)
        verdict = fit.fit_host(*tfe._ours(host, request, no.limits()))
        self.assertEqual(verdict.reason, reason)
        self.assertIn('needs 20 dedicated pCPUs', reason)
        self.assertIsNone(nova_fit.numa_fit_instance_to_host(
            host, request, None, no.limits()))
        self.assertEqual(reason, nova_fit.last_reason())

    def test_fit_instance_packing_strategy_is_honoured(self):
        host = self._host(4)
        host.cells[2].pinned_cpus = {128, 129}
        request = self._request(1)
        for pack, expected in ((False, 0), (True, 2)):
            nova_fit.CONF.set_override(
                'packing_host_numa_cells_allocation_strategy', pack,
                group='compute')
            self.addCleanup(nova_fit.CONF.clear_override,
                            'packing_host_numa_cells_allocation_strategy',
                            group='compute')
            fitted, _ = nova_fit.fit_instance(host, request, None,
                                              no.limits())
            upstream = hardware.numa_fit_instance_to_host(
                host, request.obj_clone(), None, limits=no.limits())
            self.assertEqual(_describe(upstream), _describe(fitted))
            self.assertEqual(expected, fitted.cells[0].id)

    def test_fit_instance_pci_affinity_picks_the_device_cell(self):
        host = self._host(4)
        pool = objects.PciDevicePool(product_id='p', vendor_id='v',
                                     numa_node=3, count=1,
                                     tags={'dev_type': 'type-PCI'})
        pci_stats = stats.PciDeviceStats(
            host, stats=objects.PciDevicePoolList(objects=[pool]))
        requests = [objects.InstancePCIRequest(
            count=1, spec=[{'vendor_id': 'v'}], numa_policy='required',
            request_id=None)]
        fitted, _ = nova_fit.fit_instance(host, self._request(2), None,
                                          no.limits(), requests, pci_stats)
        self.assertIn(3, [c.id for c in fitted.cells])
        with mock.patch.object(pci_stats, 'support_requests') as nova:
            nova_fit.fit_instance(host, self._request(2), None, no.limits(),
                                  requests, pci_stats)
        nova.assert_not_called()

    def test_fit_instance_malformed_host(self):
        host = self._host(2)
        host.cells[1].siblings = [{128, 129}, {129, 130}]
        fitted, reason = nova_fit.fit_instance(
            host, self._request(2, **{'hw:cpu_thread_policy': 'require'}),
            None, no.limits())
        self.assertIsNone(fitted)
        self.assertIn('sibling sets overlap', reason)

    def test_fit_instance_nothing_to_fit(self):
        self.assertEqual(
            (None, 'requires both a host and an instance NUMA topology'),
            nova_fit.fit_instance(None, self._request(1), None))
