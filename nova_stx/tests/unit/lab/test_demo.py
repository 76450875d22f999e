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

import io
from unittest import mock

from oslotest import base

from nova_stx.tests.lab import demo
from nova_stx.tests.lab import outcome as lab_outcome
from nova_stx.virt.libvirt import migration_policy


class DescribeTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.plan = migration_policy.MigrationPlan(
            max_downtime_ms=800, timeout_s=0, timeout_action='abort',
            steps=((0, 80), (0, 800)),
            sources={'max_downtime_ms': 'instance', 'timeout_s': 'flavor'})

    def test_describe_collapses_equal_read_backs(self):
        outcome = lab_outcome.Outcome(
            migrated=True, source_state=lab_outcome.ABSENT,
            dest_state='running', wall_s=5.5, bandwidth_read=10,
            downtimes_read=[(0.0, 80), (0.5, 800), (1.0, 800)],
            job_stats={'downtime': 28, 'memory_processed': 46 * demo.MIB,
                       'memory_iteration': 3, 'time_elapsed': 4300})
        lines = demo.describe(self.plan, outcome)
        self.assertIn('  max downtime read back during the job: 80 ms from '
                      '0.0 s, 800 ms from 0.5 s', lines)
        self.assertIn('  plan: max downtime 800 ms (from instance), timeout '
                      '0 s (from flavor), on timeout abort', lines)
        self.assertIn('  result: completed after 5.5 s; guest on the '
                      'destination (host A: absent, host B: running)', lines)
        self.assertIn('  destination job stats: downtime 28 ms, 46.0 MiB '
                      'copied in 3 iterations, 4.3 s', lines)

    def test_describe_failed_read_back_and_abort(self):
        outcome = lab_outcome.Outcome(
            error='operation aborted', source_state='running',
            dest_state=lab_outcome.ABSENT, read_errors=['returned None'])
        lines = demo.describe(self.plan, outcome)
        self.assertIn('  max downtime read back during the job: none', lines)
        self.assertIn('  read-back error: returned None', lines)
        self.assertIn('  result: not completed (operation aborted) after '
                      '0.0 s; guest on the source (host A: running, host B: '
                      'absent)', lines)


class RunRealMigrationTest(base.BaseTestCase):

    @mock.patch('os.geteuid', return_value=1000)
    def test_run_real_migration_not_root_says_why(self, _geteuid):
        out = io.StringIO()
        self.assertIsNone(demo.run_real_migration(out))
        self.assertIn('  skipped: ' + demo.preflight.NOT_ROOT,
                      out.getvalue())
