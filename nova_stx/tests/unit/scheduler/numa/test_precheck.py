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
from oslotest import base


from nova_stx.scheduler.numa import model
from nova_stx.scheduler.numa import precheck
from nova_stx.tests.unit.scheduler.numa import cells as c


def _host(*cells):
    return model.Host(tuple(cells))


class CheckPagesTestCase(base.BaseTestCase):

    def test_check_pages_nothing_requested(self):
        host = _host(c.host_cell(pages={}))
        self.assertIsNone(precheck.check_pages(
            host, c.request(c.guest_cell(pcpus=1))))
        self.assertIsNone(precheck.check_pages(host, None))

    def test_check_pages_no_host_topology(self):
        req = c.request(c.guest_cell(pcpus=1, pagesize=c.M2))
        self.assertEqual('host reports no NUMA topology',
                         precheck.check_pages(None, req))

    def test_check_pages_names_size_free_and_needed(self):
        host = _host(c.host_cell(0, pages={c.K4: 1024, c.G: (4, 2, 0)}),
                     c.host_cell(1, pages={c.K4: 1024, c.G: (4, 4, 0)}))
        req = c.request(c.guest_cell(pcpus=1, memory=4096, pagesize=c.G))
        self.assertEqual(
            'guest cell 0 fits no host cell: host cell 0: 1048576 KiB '
            'pages: 2048 MiB free, 4096 MiB needed; host cell 1: 1048576 '
            'KiB pages: 0 MiB free, 4096 MiB needed',
            precheck.check_pages(host, req))

    def test_check_pages_ignores_cpus(self):
        host = _host(c.host_cell(cores=1, pages={c.K4: 1024, c.M2: 1024}))
        req = c.request(c.guest_cell(pcpus=8, memory=2048, pagesize=-2))
        self.assertIsNone(precheck.check_pages(host, req))

    def test_check_pages_two_cells_need_distinct_host_cells(self):
        host = _host(c.host_cell(0, pages={c.K4: 1024, c.M2: 2048}),
                     c.host_cell(1, pages={c.K4: 1024}))
        req = c.request(c.guest_cell(pcpus=1, memory=1024, pagesize=-2),
                        c.guest_cell(pcpus=1, memory=1024, pagesize=-2))
        self.assertEqual('guest cells 0, 1 fit only host cells 0',
                         precheck.check_pages(host, req))


class CheckPinningTestCase(base.BaseTestCase):

    def test_check_pinning_nothing_pinned(self):
        host = _host(c.host_cell(cores=1, shared_cores=1))
        req = c.request(c.guest_cell(cpus=4, policy=model.SHARED))
        self.assertIsNone(precheck.check_pinning(host, req))

    def test_check_pinning_require_on_host_without_smt(self):
        host = _host(c.host_cell(threads=1))
        req = c.request(c.guest_cell(pcpus=1, thread=model.REQUIRE))
        self.assertEqual(model.NO_SMT_FOR_REQUIRE,
                         precheck.check_pinning(host, req))

    def test_check_pinning_total_free_pcpus(self):
        host = _host(c.host_cell(0, cores=2, threads=1, pinned={0}))
        req = c.request(c.guest_cell(pcpus=1), emulator_isolated=True)
        self.assertIsNone(precheck.check_pinning(
            _host(c.host_cell(0, cores=2, threads=1)), req))
        self.assertEqual('needs 2 dedicated pCPUs, 1 free on the host',
                         precheck.check_pinning(host, req))

    def test_check_pinning_isolate_full_cores(self):
        host = _host(c.host_cell(0, cores=4, legacy=True, pinned={0, 2}))
        req = c.request(c.guest_cell(pcpus=3, thread=model.ISOLATE))
        self.assertEqual(
            'guest cell 0 fits no host cell: host cell 0: needs 3 dedicated '
            'pCPUs on free full cores (isolate), 2 free',
            precheck.check_pinning(host, req))

    def test_check_pinning_ignores_memory(self):
        host = _host(c.host_cell(memory=1024, pages={}))
        req = c.request(c.guest_cell(pcpus=2, memory=65536))
        self.assertIsNone(precheck.check_pinning(host, req))
