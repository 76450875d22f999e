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


from nova_stx.scheduler.numa import cell_fit
from nova_stx.scheduler.numa import model
from nova_stx.tests.unit.scheduler.numa import cells as c

LIMITS = model.Limits(cpu_allocation_ratio=2.0, ram_allocation_ratio=1.0)


class PagesTestCase(base.BaseTestCase):

    def test_check_explicit_1g_pages_short(self):
        hc = c.host_cell(pages={c.K4: 1024, c.G: (4, 2, 0)})
        gc = c.guest_cell(pcpus=1, memory=4096, pagesize=c.G)
        self.assertEqual(
            'host cell 0: 1048576 KiB pages: 2048 MiB free, 4096 MiB needed',
            cell_fit.check(hc, gc))

    def test_check_explicit_1g_pages_fit(self):
        hc = c.host_cell(pages={c.K4: 1024, c.G: (6, 1, 1)})
        gc = c.guest_cell(pcpus=1, memory=4096, pagesize=c.G)
        self.assertIsNone(cell_fit.check(hc, gc))

    def test_check_pages_not_a_multiple(self):
        hc = c.host_cell(pages={c.K4: 1024, c.G: 8})
        gc = c.guest_cell(pcpus=1, memory=1536, pagesize=c.G)
        self.assertIn('not a multiple of 1048576 KiB',
                      cell_fit.check(hc, gc))

    def test_check_pages_size_missing(self):
        hc = c.host_cell(pages={c.K4: 1024 * 256})
        gc = c.guest_cell(pcpus=1, memory=1024, pagesize=c.M2)
        self.assertEqual('host cell 0 has no 2048 KiB pages',
                         cell_fit.check(hc, gc))

    def test_check_large_takes_any_huge_size(self):
        hc = c.host_cell(pages={c.K4: 1024, c.M2: 512, c.G: 8})
        self.assertIsNone(cell_fit.check(
            hc, c.guest_cell(pcpus=1, memory=4096, pagesize=-2)))
        self.assertIsNone(cell_fit.check(
            hc, c.guest_cell(pcpus=1, memory=1000, pagesize=-2)))
        self.assertIn('no page size holds 9216 MiB', cell_fit.check(
            hc, c.guest_cell(pcpus=1, memory=9216, pagesize=-2)))

    def test_check_unknown_pagesize_sentinel(self):
        hc = c.host_cell(pages={c.K4: 1024, c.G: 8})
        self.assertEqual('page size -4 is not valid', cell_fit.check(
            hc, c.guest_cell(pcpus=1, memory=1024, pagesize=-4)))

    def test_check_large_without_huge_pages(self):
        hc = c.host_cell(pages={c.K4: 1024 * 256})
        self.assertEqual('host cell 0 has no large pages', cell_fit.check(
            hc, c.guest_cell(pcpus=1, memory=1024, pagesize=-2)))

    def test_check_small_uses_smallest_pool_only(self):
        hc = c.host_cell(pages={c.K4: 256, c.G: 8})
        self.assertIn('4 KiB pages: 1 MiB free', cell_fit.check(
            hc, c.guest_cell(pcpus=1, memory=1024, pagesize=-1)))
        self.assertIsNone(cell_fit.check(
            hc, c.guest_cell(pcpus=1, memory=1024, pagesize=-3)))

    def test_check_no_pagesize_pinned_uses_free_smallest(self):
        hc = c.host_cell(pages={c.K4: (1024 * 256, 1023 * 256, 0)})
        self.assertEqual(
            'host cell 0: 1 MiB of 4 KiB pages free, 2 MiB needed',
            cell_fit.check(hc, c.guest_cell(pcpus=1, memory=2)))

    def test_check_no_pagesize_shared_uses_total(self):
        hc = c.host_cell(shared_cores=2,
                         pages={c.K4: (1024 * 256, 1023 * 256, 0)})
        gc = c.guest_cell(cpus=1, memory=1024, policy=model.SHARED)
        self.assertIsNone(cell_fit.check(hc, gc))

    def test_check_no_mempages_pinned_no_overcommit(self):
        hc = c.host_cell(pages={}, memory=4096, memory_usage=3072)
        self.assertEqual(
            'host cell 0: 1024 MiB free, 2048 MiB needed (pinned, no '
            'overcommit)',
            cell_fit.check(hc, c.guest_cell(pcpus=1, memory=2048)))

    def test_check_no_mempages_shared_against_total(self):
        hc = c.host_cell(pages={}, shared_cores=2, memory=4096,
                         memory_usage=3072)
        gc = c.guest_cell(cpus=1, memory=2048, policy=None)
        self.assertIsNone(cell_fit.check(hc, gc))
        gc = c.guest_cell(cpus=1, memory=8192, policy=None)
        self.assertEqual('host cell 0: 4096 MiB total, 8192 MiB needed',
                         cell_fit.check(hc, gc))


class CpusTestCase(base.BaseTestCase):

    def test_check_dedicated_more_than_cell_has(self):
        hc = c.host_cell(cores=2)
        self.assertEqual('host cell 0: needs 5 dedicated pCPUs, has 4',
                         cell_fit.check(hc, c.guest_cell(pcpus=5)))

    def test_check_dedicated_partially_pinned(self):
        hc = c.host_cell(cores=4, pinned={0, 1, 2, 3, 4})
        self.assertEqual('host cell 0: needs 4 dedicated pCPUs, 3 free',
                         cell_fit.check(hc, c.guest_cell(pcpus=4)))
        self.assertIsNone(cell_fit.check(hc, c.guest_cell(pcpus=3)))

    def test_check_emulator_thread_pcpu_counts(self):
        hc = c.host_cell(cores=2, threads=1)
        gc = c.guest_cell(pcpus=2)
        self.assertIsNone(cell_fit.check(hc, gc))
        self.assertEqual('host cell 0: needs 3 dedicated pCPUs, has 2',
                         cell_fit.check(hc, gc, reserved=1))

    def test_check_shared_count_and_limits(self):
        hc = c.host_cell(cores=4, shared_cores=1, cpu_usage=3)
        gc = c.guest_cell(cpus=1, policy=model.SHARED)
        self.assertIsNone(cell_fit.check(hc, gc, LIMITS))
        gc = c.guest_cell(cpus=2, policy=model.SHARED)
        self.assertIsNone(cell_fit.check(hc, gc))
        self.assertEqual(
            'host cell 0: shared CPU usage 3 + 2 over limit 4',
            cell_fit.check(hc, gc, LIMITS))
        gc = c.guest_cell(cpus=3, policy=model.SHARED)
        self.assertEqual('host cell 0: needs 3 shared CPUs, has 2',
                         cell_fit.check(hc, gc))

    def test_check_memory_limit(self):
        hc = c.host_cell(shared_cores=1, memory=4096, memory_usage=3072)
        gc = c.guest_cell(cpus=1, memory=2048, policy=model.SHARED)
        self.assertEqual(
            'host cell 0: memory usage 3072 + 2048 MiB over limit 4096 MiB',
            cell_fit.check(hc, gc, LIMITS))

    def test_check_mixed_needs_both_kinds(self):
        hc = c.host_cell(cores=4, shared_cores=1)
        gc = c.guest_cell(cpus=2, pcpus=6, policy=model.MIXED)
        self.assertIsNone(cell_fit.check(hc, gc, LIMITS))
        gc = c.guest_cell(cpus=3, pcpus=2, policy=model.MIXED)
        self.assertEqual('host cell 0: needs 3 shared CPUs, has 2',
                         cell_fit.check(hc, gc))

    def test_check_mixed_cell_without_dedicated_vcpus(self):
        hc = c.host_cell(cores=4, shared_cores=1)
        gc = c.guest_cell(cpus=2, pcpus=0, policy=model.MIXED)
        self.assertIsNone(cell_fit.check(hc, gc))
        self.assertIn('cannot reserve an emulator-thread pCPU',
                      cell_fit.check(hc, gc, reserved=1))

    def test_check_no_siblings_reported(self):
        hc = model.HostCell(id=0, pcpuset=frozenset({1, 2}), memory=1024,
                            mempages=(model.PagePool(c.K4, 1024 * 256),))
        self.assertEqual('host cell 0 reports no CPU sibling sets',
                         cell_fit.check(hc, c.guest_cell(pcpus=1)))


class ThreadPolicyTestCase(base.BaseTestCase):

    def test_check_isolate_smt_dedicated_set(self):
        hc = c.host_cell(cores=4, threads=2)
        gc = c.guest_cell(pcpus=1, thread=model.ISOLATE)
        self.assertIn('bug 1889633', cell_fit.check(hc, gc))

    def test_check_isolate_legacy_smt_full_cores(self):
        # vcpu_pin_set: cpuset == pcpuset; cores 1 and 2 are half pinned.
        hc = c.host_cell(cores=4, threads=2, legacy=True, pinned={2, 4})
        self.assertIsNone(cell_fit.check(
            hc, c.guest_cell(pcpus=2, thread=model.ISOLATE,
                             policy=model.DEDICATED)))
        self.assertEqual(
            'host cell 0: needs 3 dedicated pCPUs on free full cores '
            '(isolate), 2 free',
            cell_fit.check(hc, c.guest_cell(pcpus=3, thread=model.ISOLATE)))

    def test_check_isolate_emulator_thread_needs_another_core(self):
        hc = c.host_cell(cores=3, threads=2, legacy=True)
        gc = c.guest_cell(pcpus=2, thread=model.ISOLATE)
        self.assertIsNone(cell_fit.check(hc, gc, reserved=1))
        gc = c.guest_cell(pcpus=3, thread=model.ISOLATE)
        self.assertIsNone(cell_fit.check(hc, gc))
        self.assertIn('plus one pCPU for emulator threads',
                      cell_fit.check(hc, gc, reserved=1))

    def test_check_isolate_no_smt(self):
        hc = c.host_cell(cores=4, threads=1, pinned={1})
        gc = c.guest_cell(pcpus=3, thread=model.ISOLATE)
        self.assertIsNone(cell_fit.check(hc, gc))
        self.assertEqual('host cell 0: needs 4 dedicated pCPUs, 3 free',
                         cell_fit.check(hc, gc, reserved=1))

    def test_check_require_without_smt(self):
        hc = c.host_cell(cores=4, threads=1)
        self.assertEqual('host cell 0 has no SMT siblings (require)',
                         cell_fit.check(hc, c.guest_cell(
                             pcpus=1, thread=model.REQUIRE)))

    def test_check_require_counts_free_sibling_threads(self):
        # Free threads per core: 1, 1, 1, 2.
        hc = c.host_cell(cores=4, threads=2, pinned={0, 2, 4})
        self.assertIsNone(cell_fit.check(
            hc, c.guest_cell(pcpus=2, thread=model.REQUIRE)))
        self.assertEqual(
            'host cell 0: needs 3 dedicated pCPUs on free sibling threads '
            '(require), 2 usable',
            cell_fit.check(hc, c.guest_cell(pcpus=3,
                                            thread=model.REQUIRE)))

    def test_check_prefer_falls_back_to_single_threads(self):
        hc = c.host_cell(cores=4, threads=2, pinned={0, 2, 4})
        for thread in (None, model.PREFER):
            gc = c.guest_cell(pcpus=5, thread=thread)
            self.assertIsNone(cell_fit.check(hc, gc))
