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

"""Pass records and predictions from job samples, with numbers."""

import math

from oslotest import base

from nova_stx.virt.libvirt import convergence
from nova_stx.virt.libvirt import job_stats

MB = 10 ** 6


def _sample(elapsed, iteration, remaining, processed, expected=0.0,
            bps=10 * MB, dirty=0.0):
    return job_stats.JobSample(
        elapsed_s=elapsed, memory_total=128 * MB, memory_processed=processed,
        memory_remaining=remaining, memory_bps=bps, dirty_bps=dirty,
        iteration=iteration, expected_downtime_ms=expected)


class EstimatorTest(base.BaseTestCase):

    def test_bandwidth_from_bytes_sent(self):
        est = convergence.Estimator()
        est.add(_sample(0.0, 1, 100 * MB, 0))
        est.add(_sample(0.5, 1, 95 * MB, 5 * MB))
        self.assertEqual(10 * MB, est.bandwidth_bps)
        est.add(_sample(1.0, 1, 92 * MB, 8 * MB))
        self.assertAlmostEqual(10 * MB + 0.3 * (6 - 10) * MB,
                               est.bandwidth_bps)

    def test_pass_read_from_qemus_expected_downtime(self):
        # The lab's 16 MiB guest at 10 MiB/s: QEMU's expected downtime
        # times its bandwidth window stays at the bytes of the last sync.
        est = convergence.Estimator()
        est.add(_sample(5.1, 1, 90 * MB, 40 * MB))
        record = est.add(_sample(5.6, 2, 13 * MB, 45 * MB, expected=1645,
                                 bps=9961 * 1024, dirty=4 * MB))
        self.assertEqual(2, record.iteration)
        self.assertEqual(1645 * 9961 * 1024 / 1000.0, record.remaining)

    def test_stale_product_on_a_boundary_is_reconstructed_then_refined(self):
        est = convergence.Estimator()
        est.add(_sample(0.0, 1, 100 * MB, 0))
        est.add(_sample(0.5, 2, 18 * MB, 5 * MB, expected=2000, dirty=MB))
        first = est.passes[-1].remaining
        # The next sync: QEMU still shows the old product for 100 ms.
        record = est.add(_sample(2.5, 3, 14 * MB, 25 * MB, expected=2000,
                                 dirty=MB))
        self.assertNotEqual(first, record.remaining)
        refined = est.add(_sample(3.0, 3, 9 * MB, 30 * MB, expected=1500,
                                  dirty=MB))
        self.assertEqual(3, refined.iteration)
        self.assertEqual(15 * MB, refined.remaining)
        self.assertEqual(2, len([p for p in est.passes if p.iteration >= 2]))

    def test_net_is_remaining_less_the_leftover(self):
        est = convergence.Estimator()
        est.add(_sample(0.0, 1, 100 * MB, 0))
        est.add(_sample(0.5, 1, 95 * MB, 5 * MB))
        # 200 ms at 10 MB/s left 2 MB of the bulk pass unsent.
        record = est.add(_sample(10.0, 2, 7 * MB, 100 * MB, expected=1000,
                                 dirty=MB), downtime_ms=200)
        self.assertEqual(2 * MB, record.leftover)
        self.assertEqual(record.remaining - 2 * MB, record.net)

    def test_history_is_bounded(self):
        est = convergence.Estimator()
        for i in range(1, 500):
            est.add(_sample(i * 0.5, i, MB, i * MB))
        self.assertEqual(convergence.HISTORY, len(est.passes))
        self.assertLessEqual(0.5, est.first_dirty_s)
        self.assertLessEqual(est.first_dirty_s, 1.0)


class PredictionTest(base.BaseTestCase):

    def test_stalled_compares_means(self):
        self.assertFalse(convergence.stalled([10, 9, 8, 7], 0.01, 2))
        self.assertTrue(convergence.stalled([10, 10, 10, 9.99], 0.01, 2))
        # One misread pass does not make a stall.
        self.assertFalse(convergence.stalled([10, 8, 9, 8.5], 0.01, 2))
        self.assertFalse(convergence.stalled([10, 10, 10], 0.01, 2))

    def test_passes_to_fit(self):
        self.assertEqual(0, convergence.passes_to_fit(5, 0.5, 5))
        self.assertEqual(3, convergence.passes_to_fit(80, 0.5, 10))
        self.assertEqual(math.inf, convergence.passes_to_fit(80, 1.0, 10))

    def test_geometric_time(self):
        # 80 -> 40, 20, 10 bytes at 10 bytes/s.
        self.assertEqual(7.0, convergence.geometric_time_s(80, 0.5, 3, 10))
        self.assertEqual(0.0, convergence.geometric_time_s(80, 0.5, 0, 10))
        self.assertEqual(16.0, convergence.geometric_time_s(80, 1, 2, 10))

    def test_fastest_fit(self):
        # 100 bytes, threshold 10, 10 bytes/s, dirtied at 5 bytes/s:
        # passes of 9, 3.5 and 0.75 s leave 45, 17.5 and 3.75 bytes.
        self.assertEqual(13.25, convergence.fastest_fit_s(
            100, 5, 60, 10, 10, 100))
        # A measured pass that left 30 bytes caps what a longer one
        # leaves at least: 100 -> 30 -> 10, 9 + 2 s.
        self.assertEqual(11.0, convergence.fastest_fit_s(
            100, 5, 30, 10, 10, 100))
        # Dirtied at twice the bandwidth: 100 -> 180, never fits.
        self.assertEqual(math.inf, convergence.fastest_fit_s(
            100, 20, 200, 10, 10, 100))
        # Counting stops past the limit; what fits already takes 0 s.
        self.assertEqual(9.0, convergence.fastest_fit_s(
            100, 5, 60, 10, 10, 5))
        self.assertEqual(0.0, convergence.fastest_fit_s(8, 5, 60, 10, 10, 5))
        # A pass under 1 s may be sent at the burst bandwidth of 20
        # bytes/s: the third pass takes 0.375 s, not 0.75 s.
        self.assertEqual(12.875, convergence.fastest_fit_s(
            100, 5, 60, 10, 10, 100, burst_bps=20, short_s=1))
