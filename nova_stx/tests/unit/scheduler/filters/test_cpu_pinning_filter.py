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

from nova_stx.scheduler.filters import cpu_pinning_filter
from nova_stx.tests.unit.scheduler import fakes

SMT_CELLS = [{'pcpus': '0-3', 'threads': 2, 'memory_mb': 4096,
              'pinned': '0'},
             {'pcpus': '4-7', 'threads': 2, 'memory_mb': 4096,
              'pinned': '4'}]


class StxCPUPinningFilterTestCase(fakes.TestCase):

    def setUp(self):
        super().setUp()
        self.filt = cpu_pinning_filter.StxCPUPinningFilter()

    def test_host_passes_shared_policy(self):
        self.assertTrue(self.filt.host_passes(
            fakes.host(), fakes.spec(vcpus=64, hw__numa_nodes='1')))

    def test_host_passes_enough_pcpus(self):
        self.assertTrue(self.filt.host_passes(
            fakes.host(), fakes.spec(vcpus=4, hw__cpu_policy='dedicated')))

    def test_reason_not_enough_pcpus(self):
        reason = self.filt.reason(
            fakes.host(), fakes.spec(vcpus=5, hw__cpu_policy='dedicated'))
        self.assertIn('needs 5 dedicated pCPUs, has 4', reason)

    def test_reason_emulator_thread_pcpu(self):
        spec = fakes.spec(vcpus=4, hw__cpu_policy='dedicated',
                          hw__emulator_threads_policy='isolate')
        self.assertIn('needs 5 dedicated pCPUs, has 4',
                      self.filt.reason(fakes.host(), spec))

    def test_reason_require_without_smt(self):
        spec = fakes.spec(hw__cpu_policy='dedicated',
                          hw__cpu_thread_policy='require')
        self.assertIn("'require'", self.filt.reason(fakes.host(), spec))

    def test_reason_isolate_on_smt_dedicated_set(self):
        spec = fakes.spec(vcpus=2, hw__cpu_policy='dedicated',
                          hw__cpu_thread_policy='isolate')
        reason = self.filt.reason(fakes.host(cells=SMT_CELLS), spec)
        self.assertIn('isolate cannot be honoured (bug 1889633)', reason)

    def test_reason_partly_pinned_cells(self):
        spec = fakes.spec(vcpus=4, hw__cpu_policy='dedicated',
                          hw__cpu_thread_policy='require')
        reason = self.filt.reason(fakes.host(cells=SMT_CELLS), spec)
        self.assertIn('host cell 1: needs 4 dedicated pCPUs, 3 free', reason)

    def test_host_passes_mixed(self):
        spec = fakes.spec(vcpus=4, hw__cpu_policy='mixed',
                          hw__cpu_dedicated_mask='^0-1')
        self.assertTrue(self.filt.host_passes(fakes.host(), spec))

    def test_filter_flags(self):
        self.assertFalse(self.filt.RUN_ON_REBUILD)
        self.assertFalse(self.filt.run_filter_once_per_request)
