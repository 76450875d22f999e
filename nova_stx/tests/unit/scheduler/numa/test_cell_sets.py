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

"""The search for host cells meeting PCI and network NUMA affinity.

Exact against Nova's own rules on small hosts; bounded work (counted
operations, never seconds) on 32 to 64 cells.
"""

import math
import random
from unittest import mock

import hypothesis
from hypothesis import strategies as st
from nova import objects
from oslotest import base

from nova_stx.scheduler.numa import cell_fit
from nova_stx.scheduler.numa import cell_sets
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import pci
from nova_stx.tests.unit.scheduler.numa import nova_objects as no
from nova_stx.tests.unit.scheduler.numa import pci_cases

_COMMON = dict(deadline=None, database=None, derandomize=True,
               suppress_health_check=list(hypothesis.HealthCheck))


def _fit(topology, pci_stats, requests, instance, network=None,
         rule=cell_fit.misfit):
    check = pci.pci_check(pci_stats, requests, None)
    verdict = fit.fit_host(from_nova.host_from_nova(topology),
                           from_nova.request_from_nova(instance, network),
                           from_nova.limits_from_nova(no.limits()), check,
                           rule)
    return verdict, check


def _one_device_per_cell(n_cells, free=None):
    cells = [no.host_cell(
        i, 2, 2, memory=4096, socket=i * 2 // n_cells,
        pinned=() if free is None or i in free else range(i * 64, i * 64 + 4))
        for i in range(n_cells)]
    topology = no.host(*cells)
    pools = [objects.PciDevicePool(
        product_id='1520', vendor_id='8086', numa_node=i, count=1,
        tags={'dev_type': 'type-PCI'}) for i in range(n_cells)]
    return topology, pci_cases.stats.PciDeviceStats(
        topology, stats=objects.PciDevicePoolList(objects=pools))


def _required(count):
    return [objects.InstancePCIRequest(
        count=count, spec=[{'vendor_id': '8086'}], numa_policy='required',
        request_id=None)]


class KuhnTestCase(base.BaseTestCase):

    def test_kuhn_augments_and_keeps_matched_vertices(self):
        owner = {0: 0}
        # Left 0 can use 0 or 1; left 1 only 0: 0 moves to 1.
        self.assertTrue(cell_sets.kuhn([0b11, 0b01], range(2), owner))
        self.assertEqual({0: 1, 1: 0}, owner)

    def test_kuhn_reports_failure(self):
        self.assertFalse(cell_sets.kuhn([0b1, 0b1], range(2), {}))


class FindTestCase(base.BaseTestCase):

    def test_find_host_without_devices_asks_nova_once(self):
        topology, pci_stats = _one_device_per_cell(64)
        pci_stats.pools = []
        verdict, check = _fit(topology, pci_stats, _required(1),
                              pci_cases.request(2))
        self.assertFalse(verdict.fits)
        self.assertEqual(1, check.calls)
        self.assertIn('no usable set of host cells', verdict.reason)

    def test_find_device_on_one_free_cell(self):
        topology, pci_stats = _one_device_per_cell(32, free={5, 9, 20})
        pci_stats.pools = [p for p in pci_stats.pools if p['numa_node'] == 9]
        verdict, check = _fit(topology, pci_stats, _required(1),
                              pci_cases.request(2))
        self.assertTrue(verdict.fits)
        self.assertIn(9, verdict.assignment)
        self.assertLessEqual(check.calls, 3)

    def test_find_stops_at_the_limit_with_a_reason(self):
        # Three devices wanted, one per cell, two guest cells: no set of
        # two cells can ever do; the limit stops the search.
        topology, pci_stats = _one_device_per_cell(64)
        verdict, check = _fit(topology, pci_stats, _required(3),
                              pci_cases.request(2))
        self.assertFalse(verdict.fits)
        self.assertEqual(cell_sets.MAX_PCI_CHECKS, check.calls)
        self.assertIn('nova-stx stops at', verdict.reason)

    def test_find_small_host_is_exhaustive(self):
        topology, pci_stats = _one_device_per_cell(4)
        verdict, check = _fit(topology, pci_stats, _required(3),
                              pci_cases.request(2))
        self.assertEqual(math.comb(4, 2), check.calls)
        self.assertIn('no usable set of host cells', verdict.reason)

    def test_find_socket_policy_splits_cells_by_socket(self):
        topology, pci_stats = _one_device_per_cell(8, free={0, 1, 6, 7})
        pci_stats.pools = [p for p in pci_stats.pools if p['numa_node'] == 5]
        requests = _required(1)
        requests[0].numa_policy = 'socket'
        verdict, check = _fit(topology, pci_stats, requests,
                              pci_cases.request(2))
        # Cell 5 is busy; cells 6 and 7 share its socket.
        self.assertTrue(verdict.fits)
        self.assertTrue({6, 7} & set(verdict.assignment))
        self.assertTrue(pci_cases.supports(pci_stats, requests,
                                           verdict.assignment))


def _small_case(seed, n_cells, nodes):
    rng = random.Random(seed)
    topology, pci_stats = pci_cases.host(rng, n_cells)
    return (topology, pci_stats, pci_cases.pci_requests(rng),
            pci_cases.request(nodes), pci_cases.network(rng))


class FindExactTestCase(base.BaseTestCase):

    @hypothesis.settings(max_examples=250, **_COMMON)
    @hypothesis.given(st.integers(0, 2 ** 32), st.integers(1, 6),
                      st.integers(1, 4))
    def test_find_equals_nova_on_every_assignment(self, seed, n_cells,
                                                  nodes):
        hypothesis.assume(nodes <= n_cells)
        topology, pci_stats, requests, instance, network = _small_case(
            seed, n_cells, nodes)
        verdict, _check = _fit(topology, pci_stats, requests, instance,
                               network)
        expected = pci_cases.reference(topology, pci_stats, requests,
                                       instance, no.limits(), network)
        self.assertEqual(expected, verdict.fits, verdict.reason)
        if verdict.fits:
            self.assertTrue(pci_cases.supports(pci_stats, requests,
                                               verdict.assignment))


class _Counted:
    """Count calls of a function while it is patched in."""

    def __init__(self, func):
        self.func = func
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.func(*args, **kwargs)


class FindBoundedTestCase(base.BaseTestCase):

    @hypothesis.settings(max_examples=60, **_COMMON)
    @hypothesis.given(st.integers(0, 2 ** 32), st.integers(32, 64),
                      st.integers(2, 8), st.sampled_from([0.0, 0.1, 1.0]))
    def test_find_work_is_bounded(self, seed, n_cells, nodes, share):
        rng = random.Random(seed)
        topology, pci_stats = pci_cases.host(rng, n_cells,
                                             device_share=share)
        requests = pci_cases.pci_requests(rng)
        instance = pci_cases.request(nodes)
        rule = _Counted(cell_fit.misfit)
        kuhn = _Counted(cell_sets.kuhn)
        with mock.patch.object(cell_sets, 'kuhn', kuhn):
            verdict, check = _fit(topology, pci_stats, requests, instance,
                                  pci_cases.network(rng), rule)
        # Every guest cell is alike: one memo row of n_cells pairs.
        self.assertLessEqual(rule.calls, n_cells)
        self.assertLessEqual(check.calls, cell_sets.MAX_PCI_CHECKS)
        # One matching per candidate set, two for a set of keys.
        self.assertLessEqual(kuhn.calls, 2 * cell_sets.MAX_CELL_SETS + 2)
        if verdict.fits:
            self.assertTrue(pci_cases.supports(pci_stats, requests,
                                               verdict.assignment))
