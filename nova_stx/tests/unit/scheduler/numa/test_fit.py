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

from nova.virt import hardware
from oslotest import base

from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import model
from nova_stx.tests.unit.scheduler.numa import cells as c
from nova_stx.tests.unit.scheduler.numa import nova_objects as no


def _host(*cells):
    return model.Host(tuple(cells))


class FitHostTestCase(base.BaseTestCase):

    def test_fit_host_nothing_requested(self):
        self.assertEqual(model.Verdict(True), fit.fit_host(None, None))

    def test_fit_host_without_host_topology(self):
        verdict = fit.fit_host(None, c.request(c.guest_cell(pcpus=1)))
        self.assertEqual(
            model.Verdict(False, 'host reports no NUMA topology'), verdict)

    def test_fit_host_more_guest_nodes_than_host_cells(self):
        req = c.request(c.guest_cell(pcpus=1), c.guest_cell(pcpus=1))
        verdict = fit.fit_host(_host(c.host_cell()), req)
        self.assertEqual('guest has 2 NUMA nodes, host has 1',
                         verdict.reason)

    def test_fit_host_asymmetric_cells(self):
        # hw:numa_cpus.0=0, hw:numa_mem.0=1024, hw:numa_cpus.1=1-3,
        # hw:numa_mem.1=3072 on cells with 2 and 4 free pCPUs.
        host = _host(c.host_cell(0, cores=4, threads=1),
                     c.host_cell(1, cores=2, threads=1))
        req = c.request(c.guest_cell(pcpus=1, memory=1024),
                        c.guest_cell(pcpus=3, memory=3072))
        self.assertEqual(model.Verdict(True, None, (1, 0)),
                         fit.fit_host(host, req))

    def test_fit_host_total_free_pcpus(self):
        host = _host(c.host_cell(0, cores=2, threads=1),
                     c.host_cell(1, cores=2, threads=1))
        req = c.request(c.guest_cell(pcpus=2), c.guest_cell(pcpus=2),
                        emulator_isolated=True)
        self.assertEqual('needs 5 dedicated pCPUs, 4 free on the host',
                         fit.fit_host(host, req).reason)

    def test_fit_host_emulator_thread_on_guest_cell_0_host_cell(self):
        host = _host(c.host_cell(0, cores=2, threads=1),
                     c.host_cell(1, cores=3, threads=1))
        req = c.request(c.guest_cell(pcpus=2), c.guest_cell(pcpus=2),
                        emulator_isolated=True)
        self.assertEqual((1, 0), fit.fit_host(host, req).assignment)

    def test_fit_host_page_pools_per_size(self):
        host = _host(c.host_cell(0, pages={c.K4: 1024, c.G: 1}),
                     c.host_cell(1, pages={c.K4: 1024, c.G: 1}))
        req = c.request(c.guest_cell(pcpus=1, memory=2048, pagesize=c.G),
                        c.guest_cell(pcpus=1, memory=1024, pagesize=c.G))
        self.assertEqual(
            'guest cell 0 fits no host cell: host cell 0: 1048576 KiB '
            'pages: 1024 MiB free, 2048 MiB needed; host cell 1: 1048576 '
            'KiB pages: 1024 MiB free, 2048 MiB needed',
            fit.fit_host(host, req).reason)

    def test_fit_host_guest_cell_fits_nowhere(self):
        host = _host(c.host_cell(0, cores=2), c.host_cell(1, cores=4))
        req = c.request(c.guest_cell(pcpus=2, pagesize=c.G),
                        c.guest_cell(pcpus=1, pagesize=c.G))
        self.assertEqual(
            'guest cell 0 fits no host cell: host cell 0 has no 1048576 KiB '
            'pages; host cell 1 has no 1048576 KiB pages',
            fit.fit_host(host, req).reason)

    def test_fit_host_largest_pcpu_needs(self):
        host = _host(c.host_cell(0, cores=4), c.host_cell(1, cores=2),
                     c.host_cell(2, cores=2))
        req = c.request(c.guest_cell(pcpus=6), c.guest_cell(pcpus=1),
                        c.guest_cell(pcpus=6))
        self.assertEqual('2 guest cell(s) need 6 or more dedicated pCPUs '
                         'each, 1 host cell(s) have that many free',
                         fit.fit_host(host, req).reason)

    def test_fit_host_hall_violation(self):
        pages = {c.K4: 1024, c.M2: 8192}
        host = _host(c.host_cell(0, pages=pages), c.host_cell(1),
                     c.host_cell(2, pages={c.K4: 1024, c.M2: 1024}))
        req = c.request(c.guest_cell(pcpus=1, memory=6144, pagesize=-2),
                        c.guest_cell(pcpus=1, memory=1024),
                        c.guest_cell(pcpus=1, memory=6144, pagesize=-2))
        self.assertEqual('guest cells 0, 2 fit only host cells 0',
                         fit.fit_host(host, req).reason)

    def test_fit_host_greedy_stuck_then_augmenting_path(self):
        # Greedy puts guest cell 0 on host cell 0, the only one guest
        # cell 1 fits; augmenting moves it to host cell 1.
        host = _host(c.host_cell(0, cores=4), c.host_cell(1, cores=1))
        req = c.request(c.guest_cell(pcpus=1), c.guest_cell(pcpus=4))
        self.assertEqual((1, 0), fit.fit_host(host, req).assignment)

    def test_fit_host_16_cells_8_nodes_no_fit(self):
        cells = [c.host_cell(i, cores=16, pinned=range(i * 100,
                                                       i * 100 + 28))
                 for i in range(16)]
        cells[:7] = [c.host_cell(i, cores=16) for i in range(7)]
        req = c.request(*[c.guest_cell(pcpus=8) for _ in range(8)])
        self.assertEqual(
            model.Verdict(False, '8 guest cell(s) need 8 or more dedicated '
                          'pCPUs each, 7 host cell(s) have that many free'),
            fit.fit_host(_host(*cells), req))

    def test_fit_host_physnet_affinity_restricts_cells(self):
        host = _host(c.host_cell(0), c.host_cell(1),
                     c.host_cell(2, physnets={'foo'}))
        req = c.request(c.guest_cell(pcpus=1), c.guest_cell(pcpus=1),
                        physnets={'foo'})
        self.assertIn(2, fit.fit_host(host, req).assignment)
        full = _host(c.host_cell(0), c.host_cell(1),
                     c.host_cell(2, physnets={'foo'}, pinned=range(200,
                                                                   208)))
        verdict = fit.fit_host(full, req)
        self.assertEqual('no usable set of host cells meets the network '
                         'NUMA affinity', verdict.reason)

    def test_fit_host_physnet_without_affinity_anywhere(self):
        host = _host(c.host_cell(0), c.host_cell(1))
        req = c.request(c.guest_cell(pcpus=1), physnets={'bar'})
        self.assertTrue(fit.fit_host(host, req).fits)

    def test_fit_host_tunneled_affinity(self):
        host = _host(c.host_cell(0), c.host_cell(1, tunneled=True))
        req = c.request(c.guest_cell(pcpus=1), tunneled=True)
        self.assertEqual((1,), fit.fit_host(host, req).assignment)

    def test_fit_host_pci_tries_other_cell_sets(self):
        host = _host(*[c.host_cell(i) for i in range(4)])
        req = c.request(c.guest_cell(pcpus=1), c.guest_cell(pcpus=1))
        asked = []

        def pci(ids):
            asked.append(ids)
            return ids == (2, 3)

        verdict = fit.fit_host(host, req, pci=pci)
        self.assertEqual((2, 3), tuple(sorted(verdict.assignment)))
        self.assertEqual(len(set(asked)), len(asked))
        verdict = fit.fit_host(host, req, pci=lambda ids: False)
        self.assertEqual('no usable set of host cells meets the PCI NUMA '
                         'affinity', verdict.reason)


class MalformedHostTestCase(base.BaseTestCase):

    def test_fit_host_overlapping_siblings_reason(self):
        cell = c.host_cell(0, cores=2)
        cell = model.HostCell(0, pcpuset=cell.pcpuset,
                              siblings=({0, 1}, {1, 2, 3}),
                              mempages=cell.mempages, memory=8192)
        req = c.request(c.guest_cell(pcpus=2, thread=model.REQUIRE))
        self.assertEqual(
            model.Verdict(False, 'host cell 0: sibling sets overlap'),
            fit.fit_host(_host(cell), req))


class UpstreamCacheBugTestCase(base.BaseTestCase):
    """Cases where upstream's pair cache gives the wrong answer."""

    def test_fit_host_sticky_pagesize(self):
        # Host cell 0: 8 GiB of 2 MiB pages; cell 1: 2 GiB of 1 GiB pages.
        # Guest: 2 nodes of 2 GiB and 6 GiB, large pages. Guest cell 0 on
        # host cell 1 and guest cell 1 on host cell 0 fits.
        host = no.host(
            no.host_cell(0, 4, memory=10240, mempages=[
                no.pages(no.KIB_4K, 512 * 256), no.pages(no.KIB_2M, 4096)]),
            no.host_cell(1, 4, memory=10240, mempages=[
                no.pages(no.KIB_4K, 8192 * 256), no.pages(no.KIB_1G, 2)]))
        req = no.constraints(4, 8192, {
            'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '2',
            'hw:mem_page_size': 'large', 'hw:numa_cpus.0': '0-1',
            'hw:numa_mem.0': '2048', 'hw:numa_cpus.1': '2-3',
            'hw:numa_mem.1': '6144'})
        limits = no.limits()
        self.assertIsNone(hardware.numa_fit_instance_to_host(
            host, req.obj_clone(), None, limits=limits))
        self.assertTrue(no.oracle_fits(host, req, limits))
        verdict = fit.fit_host(from_nova.host_from_nova(host),
                               from_nova.request_from_nova(req),
                               from_nova.limits_from_nova(limits))
        self.assertEqual(model.Verdict(True, None, (1, 0)), verdict)
