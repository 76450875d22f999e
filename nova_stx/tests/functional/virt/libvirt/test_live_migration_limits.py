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

"""Per-instance live-migration limits through Nova's API.

Real API, conductor, scheduler and placement; two fake-libvirt computes
running ``compute_driver = nova_stx.LibvirtDriver``, loaded by Nova through
the ``nova.virt`` alias. Fake libvirt does not migrate, so the source
domain's job is scripted: it runs until the test completes it, and an
``abortJob`` cancels it as libvirt does.

NOTE(nova-stx): the migration clock advances :data:`SECONDS_PER_POLL` per
poll and Nova's 0.5 s sleeps are shortened, so a 180 s timeout takes about
a second of real time.
"""

import time

import fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.libvirt import base as libvirt_base
from nova.virt.libvirt import driver as libvirt_driver

from nova_stx import keys
from nova_stx.tests.functional import base
from nova_stx.virt.libvirt import alias
from nova_stx.virt.libvirt import driver
from nova_stx.virt.libvirt import migration_events

SECONDS_PER_POLL = 3
TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT
DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME


class _FastTime:
    """Nova's driver module's ``time``, with short sleeps."""

    def __getattr__(self, name):
        return getattr(time, name)

    @staticmethod
    def sleep(seconds):
        time.sleep(min(seconds, 0.02))


class _PollClock:
    """A clock that moves :data:`SECONDS_PER_POLL` each time it is read."""

    def __init__(self):
        self.now = 0

    def __call__(self):
        self.now += SECONDS_PER_POLL
        return self.now


class LiveMigrationLimitsTest(libvirt_base.LibvirtMigrationMixin,
                              base.StxServersTestBase):

    ADMIN_API = True

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(
            libvirt_driver, 'time', _FastTime()))
        self.downtimes = []
        self.aborts = []
        self.complete_after = None
        self.polls = 0
        for name, stub in (('migrateSetMaxDowntime', self._set_downtime),
                           ('abortJob', self._abort_job),
                           ('jobStats', self._job_stats)):
            self.useFixture(fixtures.MonkeyPatch(
                f'nova.tests.fixtures.libvirt.Domain.{name}', stub))
        self.src = self.computes[self.start_compute('src')]
        self.dest = self.computes[self.start_compute('dest')]
        self.src.driver._migration_clock = _PollClock()

    def _setup_compute_service(self):
        alias.register()
        self.flags(compute_driver=alias.COMPUTE_DRIVER)

    # --- scripted libvirt ---------------------------------------------

    def _set_downtime(self, domain, ms):
        self.downtimes.append(ms)

    def _abort_job(self, domain):
        self.aborts.append(domain.UUIDString())
        domain._job_type = fakelibvirt.VIR_DOMAIN_JOB_CANCELLED

    def _job_stats(self, domain, flags=0):
        if domain._job_type == fakelibvirt.VIR_DOMAIN_JOB_UNBOUNDED:
            self.polls += 1
            if self.complete_after and self.polls >= self.complete_after:
                self._arrive(domain)
        return {'type': domain._job_type}

    def _migrate_stub(self, domain, destination, params, flags):
        # NOTE(nova-stx): unlike Nova's stub, the job keeps running until
        # the test's script ends it.
        self.migrate_flags = flags
        self.destination_xml = params['destination_xml']
        domain._job_type = fakelibvirt.VIR_DOMAIN_JOB_UNBOUNDED

    def _arrive(self, domain):
        self.dest.driver._host.get_connection().createXML(
            self.destination_xml, 'fake-createXML-doesnt-care-about-flags')
        domain._job_type = fakelibvirt.VIR_DOMAIN_JOB_COMPLETED

    # --- helpers --------------------------------------------------------

    def _boot(self, extra_specs=None, metadata=None, image_properties=None):
        flavor_id = self._create_flavor(extra_spec=extra_specs or {})
        image_id = (self.glance_image(image_properties)
                    if image_properties else None)
        server = self._build_server(flavor_id=flavor_id, image_uuid=image_id,
                                    networks='none', host='src')
        if metadata:
            server['metadata'] = metadata
        server = self.api.post_server({'server': server})
        return self._wait_for_state_change(server, 'ACTIVE')

    def _events(self):
        return {m.event_type: m.payload for m in self.notifier.notifications
                if m.event_type.startswith(migration_events.PREFIX)}

    # --- tests ----------------------------------------------------------

    def test_flavor_limits_ramp_then_timeout_abort(self):
        server = self._boot({TIMEOUT.flavor: '180', DOWNTIME.flavor: '500'})
        server = self._live_migrate(server, 'cancelled', 'ACTIVE')

        self.assertEqual('src', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([server['id']], self.aborts)
        # The first step before the transfer, then StarlingX's ramp.
        self.assertEqual([50] + [50 + 45 * i for i in range(11)],
                         self.downtimes)
        self.assertIsInstance(self.src.driver, driver.LibvirtDriver)
        events = self._events()
        self.assertEqual((180, 'flavor', 500, 'flavor'), (
            events[migration_events.START]['timeout_s'],
            events[migration_events.START]['sources']['timeout_s'],
            events[migration_events.START]['max_downtime_ms'],
            events[migration_events.START]['sources']['max_downtime_ms']))
        self.assertEqual('abort',
                         events[migration_events.TIMEOUT]['action'])
        self.assertEqual(('cancelled',
                          'Live migration timeout after 180 sec.'), (
            events[migration_events.ABORT]['migration_status'],
            events[migration_events.ABORT]['reason']))
        self.assertEqual({}, self.src.driver._supervised)

    def test_instance_metadata_limits_and_completion(self):
        self.complete_after = 20
        server = self._boot(
            {TIMEOUT.flavor: '600'},
            metadata={DOWNTIME.instance: '300', TIMEOUT.instance: '0',
                      keys.LIVE_MIGRATION_AUTO_CONVERGE.instance: 'true'})
        server = self._live_migrate(server, 'completed', 'ACTIVE')

        self.assertEqual('dest', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self.aborts)
        self.assertTrue(self.migrate_flags &
                        fakelibvirt.VIR_MIGRATE_AUTO_CONVERGE)
        # Timeout 600 (the instance's 0 loses to a non-zero value): the
        # first step before the transfer, then one step per 40 s.
        ramp = [30 + 27 * i for i in range(11)]
        self.assertEqual(30, self.downtimes[0])
        self.assertEqual(ramp[:len(self.downtimes) - 1], self.downtimes[1:])
        self.assertGreater(len(self.downtimes), 2)
        start = self._events()[migration_events.START]
        self.assertEqual((600, 'flavor', 300, 'instance', True), (
            start['timeout_s'], start['sources']['timeout_s'],
            start['max_downtime_ms'], start['sources']['max_downtime_ms'],
            start['auto_converge']))
        self.assertIn(migration_events.COMPLETE, self._events())

    def test_image_property_timeout_and_junk_metadata(self):
        server = self._boot(
            metadata={DOWNTIME.instance: 'fast'},
            image_properties={TIMEOUT.image: '150'})
        server = self._live_migrate(server, 'cancelled', 'ACTIVE')

        self.assertEqual('src', server['OS-EXT-SRV-ATTR:host'])
        start = self._events()[migration_events.START]
        self.assertEqual((150, 'image', 500, 'config'), (
            start['timeout_s'], start['sources']['timeout_s'],
            start['max_downtime_ms'], start['sources']['max_downtime_ms']))
        self.assertEqual(
            ["hw:wrs:live_migration_max_downtime must be an integer; got "
             "'fast'. Ignored."], start['warnings'])
        self.assertEqual(1, len(self.aborts))
