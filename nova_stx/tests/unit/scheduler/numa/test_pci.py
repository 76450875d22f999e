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

import copy
import random

import fixtures
import hypothesis
from hypothesis import strategies as st
from nova import objects
from nova.pci import stats
from nova.virt import hardware
from oslotest import base

from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import model
from nova_stx.scheduler.numa import pci
from nova_stx.tests.unit.scheduler.numa import nova_objects as no
from nova_stx.tests.unit.scheduler.numa import pci_cases


class PciCheckTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.host = no.host(*[no.host_cell(i, 2) for i in range(4)])
        self.request = no.constraints(2, 2048, {
            'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '2'})

    def _stats(self, numa_node):
        pool = objects.PciDevicePool(product_id='p', vendor_id='v',
                                     numa_node=numa_node, count=1,
                                     tags={'dev_type': 'type-PCI'})
        return stats.PciDeviceStats(
            self.host, stats=objects.PciDevicePoolList(objects=[pool]))

    def _requests(self, policy):
        return [objects.InstancePCIRequest(
            count=1, spec=[{'vendor_id': 'v'}], numa_policy=policy,
            request_id=None)]

    def _both(self, pci_stats, requests):
        upstream = hardware.numa_fit_instance_to_host(
            self.host, self.request.obj_clone(), None, limits=no.limits(),
            pci_requests=requests, pci_stats=pci_stats)
        ours = fit.fit_host(from_nova.host_from_nova(self.host),
                            from_nova.request_from_nova(self.request), None,
                            pci.pci_check(pci_stats, requests, None))
        return upstream, ours

    def test_pci_check_required_affinity_picks_device_cell(self):
        upstream, ours = self._both(self._stats(3), self._requests(
            'required'))
        self.assertIn(3, [cell.id for cell in upstream.cells])
        self.assertIn(3, ours.assignment)

    def test_pci_check_required_affinity_unmet(self):
        upstream, ours = self._both(self._stats(None), self._requests(
            'required'))
        self.assertIsNone(upstream)
        self.assertEqual(model.Verdict(
            False, 'no usable set of host cells meets the PCI NUMA '
            'affinity'), ours)

    def test_pci_check_preferred_affinity_anywhere(self):
        upstream, ours = self._both(self._stats(None), self._requests(
            'preferred'))
        self.assertIsNotNone(upstream)
        self.assertTrue(ours.fits)

    def test_pci_check_nothing_to_check(self):
        self.assertIsNone(pci.pci_check(self._stats(1), [], None))
        self.assertIsNone(pci.pci_check(None, self._requests('legacy'),
                                        None))


class PciCheckAgainstNovaTestCase(base.BaseTestCase):
    """The pool-copying check answers as ``support_requests``."""

    @hypothesis.settings(max_examples=300, deadline=None, database=None,
                         derandomize=True)
    @hypothesis.given(st.integers(0, 2 ** 32), st.integers(1, 8))
    def test_pci_check_equals_support_requests(self, seed, n_cells):
        rng = random.Random(seed)
        topology, pci_stats = pci_cases.host(rng, n_cells, device_share=0.5)
        requests = pci_cases.pci_requests(rng)
        ids = sorted(rng.sample(range(n_cells), rng.randint(1, n_cells)))
        before = copy.deepcopy(pci_stats.pools)
        check = pci.pci_check(pci_stats, requests, None)
        self.assertEqual(pci_cases.supports(pci_stats, requests, ids),
                         check(tuple(ids)))
        self.assertEqual(before, pci_stats.pools)
        # Cells with no device matching a request cannot change the answer.
        for cell_id in set(ids) - check.relevant:
            rest = [i for i in ids if i != cell_id]
            if rest and not check.by_socket:
                self.assertEqual(check(tuple(ids)), check(tuple(rest)))

    def test_pci_check_relevant_cells_by_spec(self):
        host = no.host(*[no.host_cell(i, 2) for i in range(3)])
        pools = [objects.PciDevicePool(
            product_id='p', vendor_id=vendor, numa_node=node, count=1,
            tags={'dev_type': 'type-PCI'})
            for vendor, node in (('v', 0), ('w', 1), ('v', None))]
        pci_stats = stats.PciDeviceStats(
            host, stats=objects.PciDevicePoolList(objects=pools))
        requests = [objects.InstancePCIRequest(
            count=1, spec=[{'vendor_id': 'v'}], request_id=None)]
        self.assertEqual({0}, pci.pci_check(pci_stats, requests,
                                            None).relevant)

    def test_pci_check_without_nova_spec_filter_counts_every_pool(self):
        host = no.host(*[no.host_cell(i, 2) for i in range(2)])
        pools = [objects.PciDevicePool(
            product_id='p', vendor_id=vendor, numa_node=node, count=1,
            tags={'dev_type': 'type-PCI'})
            for vendor, node in (('v', 0), ('w', 1))]
        pci_stats = stats.PciDeviceStats(
            host, stats=objects.PciDevicePoolList(objects=pools))
        requests = [objects.InstancePCIRequest(
            count=1, spec=[{'vendor_id': 'v'}], request_id=None)]
        self.useFixture(fixtures.MonkeyPatch(
            'nova.pci.stats.PciDeviceStats._filter_pools_for_spec',
            fixtures.MonkeyPatch.delete))
        self.assertEqual({0, 1}, pci.pci_check(pci_stats, requests,
                                               None).relevant)
