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

from nova import objects

from nova_stx.scheduler.filters import numa_topology_filter
from nova_stx.tests.unit.scheduler import fakes

SMT_CELLS = [{'pcpus': '0-3', 'threads': 2, 'memory_mb': 4096},
             {'pcpus': '4-7', 'threads': 2, 'memory_mb': 4096}]


class StxNUMATopologyFilterTestCase(fakes.TestCase):

    def setUp(self):
        super().setUp()
        self.filt = numa_topology_filter.StxNUMATopologyFilter()

    def test_host_passes_no_numa_request(self):
        host = fakes.host()
        self.assertTrue(self.filt.host_passes(host, fakes.spec()))
        self.assertNotIn('numa_topology', host.limits)

    def test_host_passes_sets_limits(self):
        host = fakes.host(cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0)
        spec = fakes.spec(vcpus=4, ram_mb=2048, hw__numa_nodes='2',
                          hw__cpu_policy='dedicated')
        self.assertTrue(self.filt.host_passes(host, spec))
        limits = host.limits['numa_topology']
        self.assertIsInstance(limits, objects.NUMATopologyLimits)
        self.assertEqual(4.0, limits.cpu_allocation_ratio)
        self.assertEqual(1.0, limits.ram_allocation_ratio)
        self.assertEqual([{'mappings': {}}], host.allocation_candidates)

    def test_host_passes_does_not_change_request(self):
        spec = fakes.spec(vcpus=4, ram_mb=2048, hw__cpu_policy='dedicated')
        before = spec.numa_topology.obj_to_primitive()
        self.filt.host_passes(fakes.host(), spec)
        self.assertEqual(before, spec.numa_topology.obj_to_primitive())

    def test_reason_too_many_guest_nodes(self):
        host = fakes.host(cells=[{'pcpus': '0-3', 'memory_mb': 4096}])
        spec = fakes.spec(vcpus=2, ram_mb=2048, hw__numa_nodes='2')
        self.assertEqual('guest has 2 NUMA nodes, host has 1',
                         self.filt.reason(host, spec))
        self.assertEqual([], host.allocation_candidates)

    def test_reason_not_enough_pcpus(self):
        spec = fakes.spec(vcpus=6, ram_mb=1024, hw__cpu_policy='dedicated')
        reason = self.filt.reason(fakes.host(), spec)
        self.assertIn('6', reason)
        self.assertFalse(self.filt.host_passes(fakes.host(), spec))

    def test_reason_require_on_host_without_smt(self):
        spec = fakes.spec(hw__cpu_policy='dedicated',
                          hw__cpu_thread_policy='require')
        self.assertEqual(
            "host has no SMT (hyperthreads) but the 'require' CPU thread "
            "policy was requested", self.filt.reason(fakes.host(), spec))

    def test_host_passes_require_on_smt_host(self):
        spec = fakes.spec(hw__cpu_policy='dedicated',
                          hw__cpu_thread_policy='require')
        self.assertTrue(self.filt.host_passes(
            fakes.host(cells=SMT_CELLS), spec))

    def test_reason_host_without_topology(self):
        host = fakes.host()
        host.numa_topology = None
        spec = fakes.spec(hw__numa_nodes='1')
        self.assertEqual(
            'no host NUMA topology while the instance requests one',
            self.filt.reason(host, spec))

    def test_reason_malformed_host_never_raises(self):
        host = fakes.host()
        host.numa_topology.cells[0].siblings = [{0, 1}, {1, 2}]
        spec = fakes.spec(hw__cpu_policy='dedicated',
                          hw__cpu_thread_policy='require')
        self.assertIn('host cell 0: sibling sets overlap',
                      self.filt.reason(host, spec))
        self.assertFalse(self.filt.host_passes(host, spec))

    def test_reason_garbage_host_never_raises(self):
        host = fakes.host()
        host.numa_topology = object()
        spec = fakes.spec(hw__numa_nodes='1')
        self.assertFalse(self.filt.host_passes(host, spec))

    def test_reason_no_candidate_left(self):
        host = fakes.host()
        host.allocation_candidates = []
        spec = fakes.spec(hw__numa_nodes='1')
        self.assertEqual('no placement allocation candidate of this host '
                         'is left', self.filt.reason(host, spec))

    def test_filter_keeps_every_candidate_when_fit(self):
        host = fakes.host()
        host.allocation_candidates = [{'mappings': {'a': []}},
                                      {'mappings': {'b': []}}]
        self.assertTrue(self.filt.host_passes(
            host, fakes.spec(hw__numa_nodes='2')))
        self.assertEqual(2, len(host.allocation_candidates))

    def test_filter_flags(self):
        self.assertFalse(self.filt.RUN_ON_REBUILD)
        self.assertFalse(self.filt.run_filter_once_per_request)
