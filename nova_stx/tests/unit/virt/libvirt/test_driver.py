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

"""The driver extension running Nova's own monitor loop.

Nova's unit-test harness (fake libvirt, no database) runs the real
``_live_migration_monitor`` of Nova 34 over our overrides; the clock and
the job-stats records are scripted.
"""

import collections
import inspect
from unittest import mock

import fixtures
import futurist
from nova import context as nova_context
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.unit import fake_instance
from nova.virt import fake
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import guest as libvirt_guest

from nova_stx import keys
from nova_stx.tests.unit.virt.libvirt import fakes
from nova_stx.virt.libvirt import driver
from nova_stx.virt.libvirt import migration_events
from nova_stx.virt.libvirt import precopy_sim

TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT
DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME
UNBOUNDED = fakelibvirt.VIR_DOMAIN_JOB_UNBOUNDED


class FakeTime:
    """Stands in for the ``time`` module of Nova's driver and for our clock.

    ``sleep`` moves the clock, so Nova's 0.5 s polls cost no real time.
    """

    def __init__(self, step=0.5):
        self.now = 1000.0
        self.step = step

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.now += self.step

    def monotonic(self):
        return self.now


class MonitorTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(nova_fixtures.LibvirtFixture())
        self.notifier = self.useFixture(
            nova_fixtures.NotificationFixture(self))
        self.context = nova_context.get_admin_context()
        self.drvr = driver.LibvirtDriver(fake.FakeVirtAPI(), False)
        self.clock = FakeTime()
        self.drvr._migration_clock = self.clock.monotonic
        self.useFixture(fixtures.MockPatchObject(libvirt_driver, 'time',
                                                 self.clock))
        self.stub_out('nova.objects.Migration.save', lambda *a: None)
        self.stub_out('nova.objects.Instance.save', lambda *a, **k: None)

    def _instance(self, extra_specs=None, image=None, metadata=None):
        flavor = objects.Flavor(memory_mb=2048, vcpus=1, root_gb=1,
                                ephemeral_gb=0, swap=0,
                                extra_specs=extra_specs or {})
        sysmeta = {'image_' + k: v for k, v in (image or {}).items()}
        return fake_instance.fake_instance_obj(
            self.context, flavor=flavor, system_metadata=sysmeta,
            metadata=metadata or {}, expected_attrs=['metadata',
                                                     'system_metadata'])

    def _monitor(self, instance, polls_until_done=None, fail_after=None):
        """Run Nova's monitor; the job ends after ``polls_until_done``.

        The domain cancels its job when aborted, as libvirt does; after
        ``fail_after`` polls the connection to libvirt is lost.
        """
        dom = fakelibvirt.Domain(self.drvr._get_connection(), '<domain/>',
                                 False)
        dom._job_type = UNBOUNDED
        self.downtimes = []
        self.aborts = []
        polls = []

        def job_stats(flags=0):
            polls.append(self.clock.now)
            if fail_after and len(polls) >= fail_after:
                raise fakelibvirt.make_libvirtError(
                    fakelibvirt.libvirtError, 'Cannot recv data: reset',
                    error_code=fakelibvirt.VIR_ERR_SYSTEM_ERROR,
                    error_domain=fakelibvirt.VIR_FROM_RPC)
            if polls_until_done and len(polls) >= polls_until_done:
                dom._job_type = fakelibvirt.VIR_DOMAIN_JOB_COMPLETED
            return {'type': dom._job_type}

        def abort():
            self.aborts.append(self.clock.now)
            dom._job_type = fakelibvirt.VIR_DOMAIN_JOB_CANCELLED

        dom.jobStats = job_stats
        dom.abortJob = abort
        dom.migrateSetMaxDowntime = self.downtimes.append
        self._run_monitor(instance, dom)

    def _run_monitor(self, instance, dom):
        """Run Nova's monitor of ``instance`` over the domain ``dom``."""
        migration = objects.Migration(context=self.context, id=1,
                                      status='running')
        migrate_data = objects.LibvirtLiveMigrateData(
            migration=migration, block_migration=False)
        self.drvr.active_migrations[instance.uuid] = collections.deque()
        self.post = mock.Mock()
        self.recover = mock.Mock()
        self.drvr._live_migration_monitor(
            self.context, instance, libvirt_guest.Guest(dom), 'dest',
            self.post, self.recover, False, migrate_data,
            futurist.Future(), [])

    def _events(self):
        return [(m.event_type, m.payload) for m in self.notifier.notifications
                if m.event_type.startswith(migration_events.PREFIX)]

    def test_monitor_flavor_limits_ramp_and_abort(self):
        instance = self._instance({TIMEOUT.flavor: '180',
                                   DOWNTIME.flavor: '500'})
        self._monitor(instance)
        self.assertEqual([50, 95, 140, 185, 230, 275, 320, 365, 410, 455,
                          500], self.downtimes)
        self.assertEqual(1, len(self.aborts))
        self.assertEqual(self.recover.call_args.kwargs,
                         {'migration_status': 'cancelled'})
        self.post.assert_not_called()
        types = [t for t, _ in self._events()]
        self.assertEqual(migration_events.START, types[0])
        self.assertEqual([migration_events.TIMEOUT, migration_events.ABORT],
                         types[-2:])
        self.assertNotIn(instance.uuid, self.drvr._supervised)

    def test_monitor_nova_timeout_never_fires_when_plan_disables(self):
        # Nova alone would abort at 800 s x 2 GiB = 1600 s.
        instance = self._instance(image={TIMEOUT.image: '0'})
        self.clock.step = 5
        self._monitor(instance, polls_until_done=400)
        self.assertEqual([], self.aborts)
        self.post.assert_called_once()
        # No timeout to scale the ramp by: Nova's 150 s between steps.
        self.assertEqual([50 + 45 * i for i in range(11)], self.downtimes)
        _, complete = self._events()[-1]
        self.assertEqual((instance.uuid, 500), (
            complete['instance_uuid'], complete['downtime_ms']))

    def test_monitor_instance_metadata_and_config_timeout(self):
        self.flags(live_migration_timeout=300, group='nova_stx')
        instance = self._instance(metadata={TIMEOUT.instance: '150',
                                            DOWNTIME.instance: '200'})
        self._monitor(instance)
        self.assertEqual(200, self.downtimes[-1])
        self.assertEqual(1, len(self.aborts))
        start = self._events()[0][1]
        self.assertEqual((150, 'instance', 200, 'instance'), (
            start['timeout_s'], start['sources']['timeout_s'],
            start['max_downtime_ms'], start['sources']['max_downtime_ms']))

    def test_monitor_force_complete_goes_through_nova_tasks(self):
        self.flags(live_migration_timeout_action='force_complete',
                   group='nova_stx')
        instance = self._instance({TIMEOUT.flavor: '120'})
        with mock.patch.object(libvirt_guest.Guest, 'pause') as pause:
            self._monitor(instance, polls_until_done=300)
        pause.assert_called_once_with()
        self.assertEqual([], self.aborts)
        self.post.assert_called_once()

    def test_monitor_junk_values_are_warnings_not_failures(self):
        # Ignored keys set nothing: Nova's own monitor runs, warned about.
        instance = self._instance({TIMEOUT.flavor: 'soon'},
                                  {DOWNTIME.image: 'short'})
        self.clock.step = 5
        self._monitor(instance, polls_until_done=50)
        self.assertEqual([], self._events())
        log = self.stdlog.logger.output
        self.assertIn(f"{TIMEOUT.flavor} must be an integer; got 'soon'. "
                      f"Ignored.", log)
        self.assertIn(f"{DOWNTIME.image} must be an integer; got 'short'. "
                      f"Ignored.", log)
        # Nova's ramp: 150 s per step for 2 GiB, over 250 s.
        self.assertEqual([50, 95], self.downtimes)
        self.post.assert_called_once()

    def test_monitor_falls_back_to_nova_when_plan_fails(self):
        instance = self._instance({TIMEOUT.flavor: '180'})
        with mock.patch.object(self.drvr, '_migration_plan',
                               side_effect=RuntimeError('bug')):
            self.clock.step = 50
            self._monitor(instance)
        # Nova's own ramp and its 1600 s timeout applied.
        self.assertEqual(50, self.downtimes[0])
        self.assertEqual(1, len(self.aborts))
        self.assertGreater(self.clock.now - 1000.0, 1600)

    def test_monitor_connection_lost_reports_abort_and_raises(self):
        instance = self._instance({TIMEOUT.flavor: '180'})
        self.assertRaises(fakelibvirt.libvirtError, self._monitor, instance,
                          fail_after=5)
        _, abort = self._events()[-1]
        self.assertEqual(('error', 'Cannot recv data: reset'),
                         (abort['migration_status'], abort['reason']))
        self.post.assert_not_called()
        self.assertEqual({}, self.drvr._supervised)

    def _monitor_simulated(self, instance, workload):
        """Run Nova's monitor over a simulated QEMU pre-copy job."""
        dom = fakes.SimulatedDomain(workload, self.clock.monotonic,
                                    self.clock.now)
        self._run_monitor(instance, dom)
        return dom

    def test_monitor_sla_ends_a_hopeless_migration_early(self):
        # Nova's loop polls a 2 GiB guest that rewrites 1 GiB faster than
        # the 10 GbE link: the floor needs ~0.8 s, above the 300 ms SLA.
        self.flags(live_migration_controller='sla', group='nova_stx')
        instance = self._instance({TIMEOUT.flavor: '800',
                                   DOWNTIME.flavor: '300'})
        dom = self._monitor_simulated(instance, precopy_sim.Workload(
            2 * precopy_sim.GIB, precopy_sim.GIB, 2.5e9, 1.25e9, seed=5))
        aborts = [c for c in dom.calls if c[1] == 'abortJob']
        self.assertEqual(1, len(aborts))
        self.assertLess(aborts[0][0], 60)
        self.assertEqual({'migration_status': 'cancelled'},
                         self.recover.call_args.kwargs)
        self.post.assert_not_called()
        events = dict(self._events())
        decision = events[migration_events.DECISION]
        self.assertEqual(('abort', 'hopeless'),
                         (decision['action'], decision['cause']))
        self.assertGreater(decision['numbers']['best_pause_ms'], 300)
        abort = events[migration_events.ABORT]
        self.assertIn('Stalled', abort['reason'])
        self.assertGreater(abort['saved']['time_saved_s'], 700)
        self.assertTrue(all(c[2] <= 300 for c in dom.calls
                            if c[1] == 'migrateSetMaxDowntime'))

    def test_monitor_sla_jumps_once_and_completes(self):
        self.flags(live_migration_controller='sla', group='nova_stx')
        instance = self._instance({DOWNTIME.flavor: '800'})
        dom = self._monitor_simulated(instance, precopy_sim.Workload(
            2 * precopy_sim.GIB, int(0.45e9), 2.5e9, 1.25e9, seed=3))
        self.post.assert_called_once()
        downtimes = [c[2] for c in dom.calls
                     if c[1] == 'migrateSetMaxDowntime']
        # The first poll's value, then one jump to what the sync needs.
        self.assertEqual(2, len(downtimes), dom.calls)
        self.assertTrue(300 < downtimes[-1] <= 800, downtimes)
        self.assertEqual([], [c for c in dom.calls if c[1] == 'abortJob'])
        change = [p for t, p in self._events()
                  if t == migration_events.DOWNTIME_CHANGE][-1]
        self.assertEqual('converging', change['cause'])
        self.assertIn('pending_bytes', change['numbers'])

    def test_data_gb_neutral_only_while_supervised(self):
        instance = self._instance()
        self.assertEqual(2, self.drvr._live_migration_data_gb(instance, []))
        self.drvr._supervised[instance.uuid] = object()
        self.assertEqual(driver.NEUTRAL_GIB,
                         self.drvr._live_migration_data_gb(instance, []))


class OperationTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(nova_fixtures.LibvirtFixture())
        self.drvr = driver.LibvirtDriver(fake.FakeVirtAPI(), False)
        self.drvr._live_migration_flags = (
            fakelibvirt.VIR_MIGRATE_LIVE | fakelibvirt.VIR_MIGRATE_PEER2PEER)

    def _run_operation(self, context, instance):
        """Run the driver's operation on a scripted domain; return calls."""
        dom = fakelibvirt.Domain(self.drvr._get_connection(), '<domain/>',
                                 False)
        calls = []
        dom.migrateSetMaxDowntime = lambda ms: calls.append(('downtime', ms))
        dom.migrateToURI3 = lambda uri, params, flags: calls.append(
            ('migrate', flags))
        migrate_data = objects.LibvirtLiveMigrateData(
            block_migration=False, serial_listen_addr='127.0.0.1',
            target_connect_addr=None)
        with mock.patch('nova.virt.libvirt.migration.get_updated_guest_xml',
                        return_value='<domain/>'):
            self.drvr._live_migration_operation(
                context, instance, 'dest', False, migrate_data,
                libvirt_guest.Guest(dom), [])
        return calls

    def test_operation_sets_initial_downtime_and_instance_flags(self):
        context = nova_context.get_admin_context()
        flavor = objects.Flavor(
            memory_mb=1024, extra_specs={
                DOWNTIME.flavor: '300',
                keys.LIVE_MIGRATION_TUNNEL.flavor: 'true'})
        instance = fake_instance.fake_instance_obj(
            context, flavor=flavor, metadata={
                keys.LIVE_MIGRATION_AUTO_CONVERGE.instance: 'true'},
            expected_attrs=['metadata', 'system_metadata'])
        calls = self._run_operation(context, instance)
        self.assertEqual(('downtime', 30), calls[0])
        expected = (fakelibvirt.VIR_MIGRATE_LIVE |
                    fakelibvirt.VIR_MIGRATE_PEER2PEER |
                    fakelibvirt.VIR_MIGRATE_TUNNELLED |
                    fakelibvirt.VIR_MIGRATE_AUTO_CONVERGE)
        self.assertEqual(('migrate', expected), calls[1])

    def test_operation_instance_without_metadata_loaded(self):
        # An instance object that does not carry metadata or system
        # metadata and cannot load them (here: it has no context): the
        # flavor's values still apply, the missing fields are warned about.
        flavor = objects.Flavor(
            memory_mb=1024, extra_specs={
                DOWNTIME.flavor: '300',
                keys.LIVE_MIGRATION_TUNNEL.flavor: 'true'})
        instance = fake_instance.fake_instance_obj(None, flavor=flavor)
        self.assertNotIn('metadata', instance)
        self.assertNotIn('system_metadata', instance)
        calls = self._run_operation(nova_context.get_admin_context(),
                                    instance)
        self.assertEqual(('downtime', 30), calls[0])
        self.assertTrue(calls[1][1] & fakelibvirt.VIR_MIGRATE_TUNNELLED)
        log = self.stdlog.logger.output
        self.assertNotIn('Traceback', log)
        self.assertNotIn('not applied', log)
        self.assertIn('Instance metadata is not available', log)
        self.assertIn('Instance system_metadata is not available', log)


class NovaSeamsTest(test.NoDBTestCase):
    """Fail loudly when Nova changes a seam this extension overrides."""

    SEAMS = {
        '_live_migration_operation': [
            'self', 'context', 'instance', 'dest', 'block_migration',
            'migrate_data', 'guest', 'device_names'],
        '_live_migration_monitor': [
            'self', 'context', 'instance', 'guest', 'dest', 'post_method',
            'recover_method', 'block_migration', 'migrate_data', 'future',
            'disk_paths'],
        '_live_migration_data_gb': ['self', 'instance', 'disk_paths'],
        'live_migration_force_complete': ['self', 'instance'],
        '__init__': ['self', 'virtapi', 'read_only'],
    }
    #: Nova methods the extension calls (not overrides).
    CALLED = {
        '_get_migration_flags': ['self', 'is_block_migration'],
        '_is_post_copy_enabled': ['self', 'migration_flags'],
        '_get_vpmems': ['self', 'instance', 'prefix'],
    }
    GUEST_METHODS = {
        'get_job_info': ['self'],
        'migrate_configure_max_downtime': ['self', 'mstime'],
        'abort_job': ['self'],
        'migrate_start_postcopy': ['self'],
        'pause': ['self'],
        'migrate': ['self', 'destination', 'migrate_uri', 'migrate_disks',
                    'destination_xml', 'flags', 'bandwidth', 'parallel'],
    }

    def _check(self, cls, expected):
        for name, params in expected.items():
            actual = list(inspect.signature(getattr(cls, name)).parameters)
            self.assertEqual(
                params, actual,
                f'Nova changed {cls.__name__}.{name}; review the nova-stx '
                f'override of it before upgrading.')

    def test_driver_seams_unchanged(self):
        self._check(libvirt_driver.LibvirtDriver, self.SEAMS)
        self._check(libvirt_driver.LibvirtDriver, self.CALLED)

    def test_guest_keeps_its_domain(self):
        # SupervisedGuest reads the raw jobStats() through guest._domain.
        dom = object()
        self.assertIs(dom, libvirt_guest.Guest(dom)._domain)

    def test_guest_methods_unchanged(self):
        self._check(libvirt_guest.Guest, self.GUEST_METHODS)

    def test_monitor_still_uses_the_seams(self):
        source = inspect.getsource(
            libvirt_driver.LibvirtDriver._live_migration_monitor)
        for needle in ('self._live_migration_data_gb(',
                       'guest.get_job_info()',
                       'live_migration_completion_timeout * data_gb',
                       'self.live_migration_force_complete(instance)',
                       'recover_method(', 'post_method('):
            self.assertIn(needle, source,
                          "Nova's live-migration monitor changed; the "
                          "nova-stx supervision relies on it.")

    def test_overrides_match_nova_signatures(self):
        for name in self.SEAMS:
            self.assertEqual(
                inspect.signature(getattr(libvirt_driver.LibvirtDriver,
                                          name)),
                inspect.signature(getattr(driver.LibvirtDriver, name)),
                name)
