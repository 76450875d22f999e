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

from nova_stx.tests.lab import outcome


class WhereTest(base.BaseTestCase):

    def test_where_running_on_destination_only(self):
        self.assertEqual(outcome.DESTINATION,
                         outcome.where(outcome.ABSENT, 'running'))

    def test_where_paused_on_source_counts_as_source(self):
        self.assertEqual(outcome.SOURCE,
                         outcome.where('paused', outcome.ABSENT))

    def test_where_unreachable_destination_not_running(self):
        self.assertEqual(outcome.SOURCE,
                         outcome.where('running', outcome.UNREACHABLE))

    def test_where_both_running_is_split(self):
        self.assertEqual(outcome.BOTH,
                         outcome.where('running', 'running'))

    def test_where_shut_off_everywhere_is_lost(self):
        self.assertEqual(outcome.LOST,
                         outcome.where('shut off', outcome.ABSENT))

    def test_outcome_where_follows_states(self):
        result = outcome.Outcome(source_state='running',
                                 dest_state=outcome.ABSENT)
        self.assertEqual(outcome.SOURCE, result.where)
