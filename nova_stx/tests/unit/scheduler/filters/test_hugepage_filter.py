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

from nova_stx.scheduler.filters import hugepage_filter
from nova_stx.tests.unit.scheduler import fakes

PAGED = [{'pcpus': '0-3', 'memory_mb': 8192,
          'hugepages': {'2M': {'total': 1024, 'used': 512}}},
         {'pcpus': '4-7', 'memory_mb': 8192, 'hugepages': {'1G': 4}}]


class StxHugepageFilterTestCase(fakes.TestCase):

    def setUp(self):
        super().setUp()
        self.filt = hugepage_filter.StxHugepageFilter()

    def test_host_passes_no_page_size(self):
        self.assertTrue(self.filt.host_passes(
            fakes.host(), fakes.spec(hw__numa_nodes='2')))

    def test_host_passes_enough_2m_pages(self):
        spec = fakes.spec(ram_mb=1024, hw__mem_page_size='2MB')
        self.assertTrue(self.filt.host_passes(fakes.host(cells=PAGED), spec))

    def test_reason_not_enough_2m_pages(self):
        spec = fakes.spec(ram_mb=2048, hw__mem_page_size='2MB')
        reason = self.filt.reason(fakes.host(cells=PAGED), spec)
        self.assertIn('2048 KiB pages: 1024 MiB free, 2048 MiB needed',
                      reason)

    def test_reason_no_such_page_size(self):
        spec = fakes.spec(ram_mb=1024, hw__mem_page_size='1GB')
        reason = self.filt.reason(fakes.host(), spec)
        self.assertIn('has no 1048576 KiB pages', reason)

    def test_host_passes_large_any_size(self):
        spec = fakes.spec(ram_mb=4096, hw__mem_page_size='large')
        self.assertTrue(self.filt.host_passes(fakes.host(cells=PAGED), spec))

    def test_reason_host_without_topology(self):
        host = fakes.host()
        host.numa_topology = None
        spec = fakes.spec(hw__mem_page_size='2MB')
        self.assertIn('no host NUMA topology', self.filt.reason(host, spec))

    def test_filter_flags(self):
        self.assertFalse(self.filt.RUN_ON_REBUILD)
        self.assertFalse(self.filt.run_filter_once_per_request)
