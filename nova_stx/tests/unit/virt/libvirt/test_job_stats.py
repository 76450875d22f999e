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

"""Job-stat records from raw libvirt dicts."""

from oslotest import base

from nova_stx.virt.libvirt import job_stats


class JobSampleTest(base.BaseTestCase):

    def test_from_raw_stats_keeps_what_nova_drops(self):
        # Fields as libvirt 9.0 / QEMU 7.2 reported them in the lab.
        sample = job_stats.JobSample.from_stats({
            'type': 2, 'memory_total': 134750208,
            'memory_processed': 47197000, 'memory_remaining': 11116544,
            'memory_bps': 10506240, 'memory_dirty_rate': 988,
            'memory_page_size': 4096, 'memory_iteration': 2,
            'downtime': 1597, 'auto_converge_throttle': 20}, 5.8)
        self.assertEqual((5.8, 2, 988 * 4096, 1597, 20), (
            sample.elapsed_s, sample.iteration, sample.dirty_bps,
            sample.expected_downtime_ms, sample.throttle_pct))
        self.assertFalse(sample.post_copy)

    def test_missing_and_malformed_fields_read_as_zero(self):
        sample = job_stats.JobSample.from_stats(
            {'memory_total': 'lots', 'memory_bps': float('nan'),
             'memory_iteration': True}, 1.0, post_copy=True)
        self.assertEqual((0, 0.0, 0, True), (
            sample.memory_total, sample.memory_bps, sample.iteration,
            sample.post_copy))


class CompletionTest(base.BaseTestCase):

    def test_completed_stats(self):
        done = job_stats.Completion.from_stats({
            'type': 3, 'downtime': 72, 'time_elapsed': 4800,
            'data_processed': 47000000, 'memory_iteration': 4})
        self.assertEqual((72, 4800, 47000000, 4), (
            done.downtime_ms, done.time_elapsed_ms, done.data_processed,
            done.iterations))

    def test_absent_stats_are_none(self):
        done = job_stats.Completion.from_stats({'type': 0})
        self.assertIsNone(done.downtime_ms)
        self.assertIsNone(job_stats.Completion.from_stats(None).iterations)
