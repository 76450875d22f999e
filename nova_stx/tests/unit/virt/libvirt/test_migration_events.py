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

"""Live-migration notifications."""

import logging

import fixtures
from oslotest import base

from nova_stx.virt.libvirt import migration_events as me


class BrokenBus:

    def warn(self, ctxt, event_type, payload):
        raise ConnectionError('bus down')


class MigrationEventsTest(base.BaseTestCase):

    def test_payload_carries_identity_and_fields(self):
        events = me.MigrationEvents(None, None, 'uuid-1', 'src', 'dst')
        payload = events.timeout(180.7, 180, 'abort', 'why')
        self.assertEqual({'instance_uuid': 'uuid-1', 'host': 'src',
                          'dest': 'dst', 'elapsed_s': 180, 'timeout_s': 180,
                          'action': 'abort', 'reason': 'why'}, payload)

    def test_broken_bus_is_logged_not_raised(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name=me.__name__, level=logging.WARNING))
        events = me.MigrationEvents(BrokenBus(), None, 'uuid-1', 'src',
                                    'dst')
        events.abort(3, 'error', 'lost')
        self.assertIn('Could not send nova_stx.live_migration.abort: bus '
                      'down', logs.output)

    def test_get_notifier_uses_nova_transport_with_our_publisher(self):
        class Notifier:
            def prepare(self, publisher_id):
                return publisher_id

        self.useFixture(fixtures.MonkeyPatch('nova.rpc.LEGACY_NOTIFIER',
                                             Notifier()))
        self.assertEqual('nova-stx.src', me.get_notifier('src'))

    def test_get_notifier_none_without_nova_rpc(self):
        self.useFixture(fixtures.MonkeyPatch('nova.rpc.LEGACY_NOTIFIER',
                                             None))
        self.assertIsNone(me.get_notifier('src'))
