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


from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import model
from nova_stx.tests.unit.scheduler.numa import nova_objects as no


class HostFromNovaTestCase(base.BaseTestCase):

    def _cell(self, **kw):
        args = dict(cell_id=0, cores=2, threads=2, shared_cores=1,
                    pinned={2}, memory=4096, memory_usage=1024, cpu_usage=3,
                    mempages=[no.pages(no.KIB_2M, 512, 10, 2),
                              no.pages(no.KIB_4K, 1000)],
                    physnets={'foo'}, tunneled=True)
        args.update(kw)
        return no.host_cell(**args)

    def test_host_from_nova_fields(self):
        host = from_nova.host_from_nova(no.host(self._cell()))
        cell = host.cells[0]
        self.assertEqual(model.HostCell(
            id=0, cpuset=frozenset({0, 1}), pcpuset=frozenset({2, 3}),
            siblings=({0, 1}, {2, 3}),
            pinned=frozenset({2}), memory=4096, memory_usage=1024,
            cpu_usage=3,
            mempages=(model.PagePool(4, 1000, 0, 0),
                      model.PagePool(2048, 512, 10, 2)),
            socket=0, physnets=frozenset({'foo'}), tunneled=True), cell)
        self.assertEqual((1,), cell.free_cores)
        self.assertEqual(0, cell.full_free_cores)
        self.assertEqual(500, cell.pages[2048].free)
        self.assertTrue(host.has_threads)

    def test_host_from_nova_none(self):
        self.assertIsNone(from_nova.host_from_nova(None))

    def test_host_from_nova_field_not_set(self):
        cell = self._cell()
        cell.obj_reset_changes()
        delattr(cell, 'siblings')
        exc = self.assertRaises(model.MalformedHostTopology,
                                from_nova.host_from_nova, no.host(cell))
        self.assertEqual('host cell 0: field siblings is not set', str(exc))

    def test_host_from_nova_overlapping_siblings(self):
        cell = self._cell()
        cell.siblings = [{0, 1}, {1, 2}]
        host = from_nova.host_from_nova(no.host(cell))
        exc = self.assertRaises(model.MalformedHostTopology,
                                getattr, host.cells[0], 'free_cores')
        self.assertEqual('host cell 0: sibling sets overlap', str(exc))

    def test_host_from_nova_duplicate_page_size(self):
        cell = self._cell(mempages=[no.pages(4, 10), no.pages(4, 20)])
        exc = self.assertRaises(model.MalformedHostTopology,
                                from_nova.host_from_nova, no.host(cell))
        self.assertEqual('host cell 0: two page pools of 4 KiB', str(exc))

    def test_host_from_nova_negative_memory(self):
        cell = self._cell(memory=-1)
        exc = self.assertRaises(model.MalformedHostTopology,
                                from_nova.host_from_nova, no.host(cell))
        self.assertEqual('host cell 0: memory=-1 must be >= 0', str(exc))

    def test_host_from_nova_cells_not_set(self):
        exc = self.assertRaises(model.MalformedHostTopology,
                                from_nova.host_from_nova,
                                no.objects.NUMATopology())
        self.assertIn('host NUMA topology:', str(exc))

    def test_host_from_nova_duplicate_cell_ids(self):
        exc = self.assertRaises(model.MalformedHostTopology,
                                from_nova.host_from_nova,
                                no.host(self._cell(), self._cell()))
        self.assertEqual('host NUMA topology: duplicate cell ids [0, 0]',
                         str(exc))


class RequestFromNovaTestCase(base.BaseTestCase):

    def test_request_from_nova_mixed_asymmetric(self):
        req = from_nova.request_from_nova(no.constraints(6, 4096, {
            'hw:cpu_policy': 'mixed', 'hw:cpu_dedicated_mask': '0-2',
            'hw:numa_nodes': '2', 'hw:numa_cpus.0': '0',
            'hw:numa_mem.0': '1024', 'hw:numa_cpus.1': '1-5',
            'hw:numa_mem.1': '3072', 'hw:emulator_threads_policy': 'isolate',
            'hw:cpu_thread_policy': 'require', 'hw:mem_page_size': '2MB'}))
        self.assertEqual(model.Request(
            cells=(model.GuestCell(0, 0, 1, 1024, 2048, 'mixed', 'require'),
                   model.GuestCell(1, 3, 2, 3072, 2048, 'mixed', 'require')),
            emulator_threads_isolated=True), req)
        self.assertEqual(1, req.reserved_for(0))
        self.assertEqual(0, req.reserved_for(1))

    def test_request_from_nova_network_metadata(self):
        req = from_nova.request_from_nova(
            no.constraints(2, 2048, {'hw:numa_nodes': '1'}),
            no.objects.NetworkMetadata(physnets={'a'}, tunneled=True))
        self.assertEqual((frozenset({'a'}), True, None),
                         (req.physnets, req.tunneled, req.cells[0].cpu_policy))

    def test_request_from_nova_bad_pagesize(self):
        topology = no.constraints(2, 2048, {'hw:numa_nodes': '1'})
        topology.cells[0].pagesize = -7
        exc = self.assertRaises(model.MalformedRequest,
                                from_nova.request_from_nova, topology)
        self.assertEqual('guest cell 0: pagesize=-7 must be >= -3', str(exc))

    def test_request_from_nova_none(self):
        self.assertIsNone(from_nova.request_from_nova(None))

    def test_limits_from_nova(self):
        self.assertEqual(model.Limits(4.0, 1.5),
                         from_nova.limits_from_nova(no.limits(4.0, 1.5)))
        self.assertIsNone(from_nova.limits_from_nova(None))
