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

"""SupervisedGuest over Nova's Guest, a scripted domain and a fake clock."""

import dataclasses
import logging

import fixtures
from nova import objects
from nova.virt.libvirt import guest as libvirt_guest
from oslotest import base

from nova_stx import keys
from nova_stx.tests.unit.virt.libvirt import fakes
from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import job_completed
from nova_stx.virt.libvirt import job_stats
from nova_stx.virt.libvirt import migration_events
from nova_stx.virt.libvirt import migration_policy as mp
from nova_stx.virt.libvirt import supervised_guest as sg

TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT.flavor
DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor


class RecordingNotifier:
    """An oslo.messaging-like notifier that keeps what it is sent."""

    def __init__(self):
        self.sent = []

    def info(self, ctxt, event_type, payload):
        self.sent.append(('INFO', event_type, payload))

    def warn(self, ctxt, event_type, payload):
        self.sent.append(('WARN', event_type, payload))

    def types(self):
        return [event_type for _, event_type, _ in self.sent]


def _plan(timeout='180', downtime='500', **settings):
    return mp.plan({TIMEOUT: timeout, DOWNTIME: downtime}, {}, {}, 2.0,
                   mp.Settings(**settings))


class _Harness:
    """A scripted domain, a fake clock and a recording notifier."""

    def setUp(self):
        super().setUp()
        self.useFixture(fakes.FakeLibvirtFixture())
        self.clock = fakes.Clock()
        self.domain = fakes.Domain()
        self.notifier = RecordingNotifier()
        self.events = migration_events.MigrationEvents(
            self.notifier, None, 'uuid-1', 'src', 'dst')

    def _supervise(self, plan, **kwargs):
        return sg.SupervisedGuest(libvirt_guest.Guest(self.domain), plan,
                                  clock=self.clock, events=self.events,
                                  **kwargs)

    def _poll(self, supervised, seconds, interval=0.5):
        """Poll like Nova's monitor for ``seconds`` of fake time."""
        for _ in range(int(seconds / interval)):
            supervised.get_job_info()
            self.clock.advance(interval)


class SupervisedGuestTest(_Harness, base.BaseTestCase):

    def test_ramp_starlingx_180_500_reaches_libvirt(self):
        supervised = self._supervise(_plan())
        self._poll(supervised, 150)
        self.assertEqual([(50,), (95,), (140,), (185,), (230,), (275,),
                          (320,), (365,), (410,), (455,), (500,)],
                         self.domain.calls_to('migrateSetMaxDowntime'))
        self.assertEqual((12.5, 95), supervised.downtimes[1])
        self.assertEqual([], self.domain.calls_to('abortJob'))

    def test_timeout_aborts_once_after_timeout(self):
        supervised = self._supervise(_plan())
        self._poll(supervised, 180.5)
        self.assertEqual([], self.domain.calls_to('abortJob'))
        self._poll(supervised, 10)
        self.assertEqual([()], self.domain.calls_to('abortJob'))
        self.assertEqual('abort', supervised.timeout_action_taken)
        self.assertGreater(supervised.elapsed, 180)

    def test_timeout_zero_never_fires_and_ramp_follows_nova_delay(self):
        supervised = self._supervise(_plan(timeout='0'))
        self._poll(supervised, 2000, interval=10)
        self.assertEqual([(50 + 45 * i,) for i in range(11)],
                         self.domain.calls_to('migrateSetMaxDowntime'))
        self.assertEqual((1510, 500), supervised.downtimes[-1])
        self.assertEqual([], self.domain.calls_to('abortJob'))

    def test_nothing_happens_while_job_not_running(self):
        self.domain.job_types = [fakes.LIBVIRT.VIR_DOMAIN_JOB_NONE]
        supervised = self._supervise(_plan())
        self._poll(supervised, 300)
        self.assertEqual([], self.domain.calls)

    def test_abort_retried_when_libvirt_refuses(self):
        self.domain.fail['abortJob'] = 'job busy'
        supervised = self._supervise(_plan())
        self._poll(supervised, 200)
        self.assertEqual(sg.ABORT_ATTEMPTS,
                         len(self.domain.calls_to('abortJob')))

    def test_abort_not_repeated_after_success(self):
        supervised = self._supervise(_plan())
        self._poll(supervised, 300)
        self.assertEqual(1, len(self.domain.calls_to('abortJob')))

    def test_force_complete_calls_driver_hook(self):
        calls = []
        supervised = self._supervise(
            _plan(timeout_action='force_complete'),
            force_complete=lambda: calls.append('force'))
        self._poll(supervised, 200)
        self.assertEqual(['force'], calls)
        self.assertEqual('force_complete', supervised.timeout_action_taken)
        self.assertEqual([], self.domain.calls_to('abortJob'))

    def test_force_complete_without_hook_switches_to_post_copy(self):
        supervised = self._supervise(
            _plan(timeout_action='force_complete', permit_post_copy=True))
        self._poll(supervised, 200)
        self.assertEqual([()], self.domain.calls_to('migrateStartPostCopy'))
        self.assertEqual('post_copy', supervised.timeout_action_taken)

    def test_force_complete_without_post_copy_pauses(self):
        supervised = self._supervise(_plan(timeout_action='force_complete'))
        self._poll(supervised, 200)
        self.assertEqual([()], self.domain.calls_to('suspend'))
        self.assertEqual('pause', supervised.timeout_action_taken)

    def test_no_abort_in_post_copy(self):
        migration = type('Migration', (), {'status': sg.POST_COPY_STATUS})
        supervised = self._supervise(_plan(), migration=migration)
        self._poll(supervised, 300)
        self.assertEqual([], self.domain.calls_to('abortJob'))

    def test_migration_without_status_is_not_post_copy(self):
        # NOTE(nova-stx): an o.vo Migration with status unset raises
        # NotImplementedError on access, not AttributeError.
        objects.register_all()
        supervised = self._supervise(_plan(), migration=objects.Migration())
        self._poll(supervised, 190)
        self.assertEqual([()], self.domain.calls_to('abortJob'))

    def test_migration_object_in_post_copy_stops_actions(self):
        objects.register_all()
        migration = objects.Migration(status=sg.POST_COPY_STATUS)
        supervised = self._supervise(_plan(), migration=migration)
        self._poll(supervised, 300)
        self.assertEqual([], self.domain.calls_to('abortJob'))

    def test_nova_downtime_values_ignored(self):
        supervised = self._supervise(_plan())
        supervised.migrate_configure_max_downtime(9999)
        self.assertEqual([], self.domain.calls)

    def test_downtime_error_logged_and_migration_continues(self):
        self.domain.fail['migrateSetMaxDowntime'] = 'not now'
        supervised = self._supervise(_plan())
        self._poll(supervised, 30)
        self.assertEqual(50, supervised.downtimes[0][1])
        self.assertEqual(3, len(supervised.downtimes))

    def test_initial_downtime_set_before_transfer(self):
        supervised = self._supervise(_plan())
        self.assertTrue(supervised.apply_initial_downtime())
        self.assertEqual([(50,)],
                         self.domain.calls_to('migrateSetMaxDowntime'))

    def test_initial_downtime_refused_is_not_fatal(self):
        self.domain.fail['migrateSetMaxDowntime'] = 'no job'
        self.assertFalse(self._supervise(_plan()).apply_initial_downtime())

    def test_migrate_applies_per_instance_flags(self):
        plan = dataclasses.replace(_plan(), tunnelled=True,
                                   auto_converge=True)
        supervised = self._supervise(plan)
        supervised.migrate('qemu+tcp://dst/system', flags=1,
                           migrate_uri='tcp://dst', bandwidth=0)
        uri, params, flags = self.domain.calls_to('migrateToURI3')[0]
        self.assertEqual(1 | 4 | 8192, flags)
        self.assertNotIn('migrate_uri', params)

    def test_other_attributes_are_the_guests(self):
        guest = libvirt_guest.Guest(self.domain)
        supervised = sg.SupervisedGuest(guest, _plan())
        self.assertIs(self.domain, supervised._domain)

    def test_half_built_proxy_does_not_recurse(self):
        bare = sg.SupervisedGuest.__new__(sg.SupervisedGuest)
        self.assertRaises(AttributeError, getattr, bare, 'get_xml_desc')

    def test_events_and_outcome(self):
        supervised = self._supervise(_plan())
        self._poll(supervised, 190)
        supervised.aborted('cancelled')
        supervised.aborted('error')
        types = self.notifier.types()
        self.assertEqual(migration_events.START, types[0])
        self.assertEqual(11, types.count(migration_events.DOWNTIME_CHANGE))
        self.assertEqual([migration_events.TIMEOUT, migration_events.ABORT],
                         types[-2:])
        start = self.notifier.sent[0][2]
        self.assertEqual((180, 500, 'flavor', 'uuid-1'), (
            start['timeout_s'], start['max_downtime_ms'],
            start['sources']['timeout_s'], start['instance_uuid']))
        priority, _, abort = self.notifier.sent[-1]
        self.assertEqual(('WARN', 'cancelled',
                          'Live migration timeout after 180 sec.'),
                         (priority, abort['migration_status'],
                          abort['reason']))

    def test_completed_reports_last_downtime(self):
        supervised = self._supervise(_plan())
        self._poll(supervised, 30)
        supervised.completed()
        _, event_type, payload = self.notifier.sent[-1]
        self.assertEqual((migration_events.COMPLETE, 140, 29),
                         (event_type, payload['downtime_ms'],
                          payload['elapsed_s']))

    def test_timeout_log_lines_operators_grep(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name=sg.__name__, level=logging.INFO))
        supervised = self._supervise(_plan())
        self._poll(supervised, 190)
        self.assertIn('Live migration not completed after 180 sec',
                      logs.output)
        self.assertIn('Live migration timeout after 180 sec. Action: abort.',
                      logs.output)
        self.assertIn('Increasing downtime to 500 ms after 120 sec',
                      logs.output)


class SlaEvidenceTest(_Harness, base.BaseTestCase):
    """What the completion and abort notifications say against the SLA."""

    def test_real_downtime_within_max(self):
        supervised = self._supervise(_plan())
        self._poll(supervised, 5)
        supervised.completed(job_stats.Completion(
            downtime_ms=72, time_elapsed_ms=4800, data_processed=47000000,
            iterations=4))
        _, event_type, payload = self.notifier.sent[-1]
        self.assertEqual(migration_events.COMPLETE, event_type)
        self.assertEqual((72, 500, False, 4, 47000000), (
            payload['sla']['downtime_ms'], payload['sla']['max_downtime_ms'],
            payload['sla']['breach'], payload['sla']['passes'],
            payload['sla']['data_bytes']))

    def test_breach_is_a_warning_and_its_own_notification(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name=sg.__name__, level=logging.INFO))
        supervised = self._supervise(_plan())
        self._poll(supervised, 5)
        supervised.completed(job_stats.Completion(downtime_ms=650))
        priority, event_type, payload = self.notifier.sent[-1]
        self.assertEqual(('WARN', migration_events.SLA_BREACH),
                         (priority, event_type))
        self.assertEqual(650, payload['sla']['downtime_ms'])
        self.assertIn('real downtime 650 ms, max downtime 500 ms (BREACH)',
                      logs.output)

    def test_no_completed_stats_no_verdict(self):
        supervised = self._supervise(_plan())
        supervised.completed()
        payload = self.notifier.sent[-1][2]
        self.assertIsNone(payload['sla']['breach'])

    def test_unknown_downtime_is_said_and_is_no_breach(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name=sg.__name__, level=logging.INFO))
        supervised = self._supervise(_plan())
        self._poll(supervised, 5)
        supervised.completed(job_stats.Completion(time_elapsed_ms=4800))
        priority, event_type, payload = self.notifier.sent[-1]
        self.assertEqual(('INFO', migration_events.COMPLETE),
                         (priority, event_type))
        self.assertNotIn(migration_events.SLA_BREACH, self.notifier.types())
        self.assertEqual((None, None, None), (
            payload['sla']['downtime_ms'], payload['sla']['breach'],
            payload['sla']['downtime_source']))
        self.assertIn('Live migration SLA: real downtime unknown (libvirt '
                      'reported no completed-job downtime), max downtime '
                      '500 ms not checked; job 4800 ms', logs.output)
        self.assertNotIn('BREACH', logs.output)

    def test_downtime_source_is_reported(self):
        supervised = self._supervise(_plan())
        supervised.completed(job_stats.Completion.from_stats(
            {'downtime': 80}, source=job_stats.FROM_JOB_STATS))
        payload = self.notifier.sent[-1][2]
        self.assertEqual((80, job_stats.FROM_JOB_STATS, False), (
            payload['sla']['downtime_ms'], payload['sla']['downtime_source'],
            payload['sla']['breach']))

    def test_early_abort_reports_what_it_saved(self):
        decision = decisions.Decision(
            decisions.ABORT, decisions.HOPELESS, 'Stalled: test.',
            numbers={'time_saved_s': 700.0, 'bytes_saved': 875000000000})

        class Ends:
            initial_downtime_ms = None
            ended = False

            def observe(self, sample):
                if sample.elapsed_s > 10 and not self.ended:
                    self.ended = True
                    return (decision,)
                return ()

        supervised = self._supervise(_plan(), controller=Ends())
        self._poll(supervised, 12)
        self.assertEqual([()], self.domain.calls_to('abortJob'))
        supervised.aborted('cancelled')
        types = self.notifier.types()
        self.assertIn(migration_events.DECISION, types)
        abort = self.notifier.sent[-1][2]
        self.assertEqual(('Stalled: test.', 700.0), (
            abort['reason'], abort['saved']['time_saved_s']))


class JobCompletedWatchTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.guest.libvirt', fakes.LIBVIRT))

    def test_event_gives_the_completion(self):
        registered = {}

        class Conn:
            def domainEventRegisterAny(self, dom, event, callback, opaque):
                registered['callback'] = callback
                return 7

            def domainEventDeregisterAny(self, ident):
                registered['gone'] = ident

        watch = job_completed.JobCompletedWatch(Conn(), object())
        registered['callback'](None, None, {'downtime': 45,
                                            'time_elapsed': 900}, None)
        self.assertEqual(45, watch.completion(timeout=0).downtime_ms)
        watch.close()
        watch.close()
        self.assertEqual(7, registered['gone'])

    def test_no_event_support_gives_none(self):
        watch = job_completed.JobCompletedWatch(object(), object())
        self.assertIsNone(watch.completion(timeout=0))
        watch.close()

    def test_no_event_reads_completed_job_stats(self):
        domain = CompletedDomain({
            'type': fakes.LIBVIRT.VIR_DOMAIN_JOB_COMPLETED, 'downtime': 61,
            'time_elapsed': 5200, 'data_processed': 900,
            'memory_iteration': 5})
        watch = job_completed.JobCompletedWatch(object(), domain)
        completion = watch.completion(timeout=0)
        self.assertEqual([fakes.LIBVIRT.VIR_DOMAIN_JOB_STATS_COMPLETED],
                         domain.flags)
        self.assertEqual(
            job_stats.Completion(downtime_ms=61, time_elapsed_ms=5200,
                                 data_processed=900, iterations=5,
                                 source=job_stats.FROM_JOB_STATS),
            completion)

    def test_event_without_downtime_is_completed_from_job_stats(self):
        registered = {}

        class Conn:
            def domainEventRegisterAny(self, dom, event, callback, opaque):
                registered['callback'] = callback
                return 7

        domain = CompletedDomain({'downtime': 33, 'time_elapsed': 1})
        watch = job_completed.JobCompletedWatch(Conn(), domain)
        registered['callback'](None, None, {'time_elapsed': 900}, None)
        completion = watch.completion(timeout=0)
        self.assertEqual((33, 900, job_stats.FROM_JOB_STATS), (
            completion.downtime_ms, completion.time_elapsed_ms,
            completion.source))

    def test_event_with_downtime_does_not_read_job_stats(self):
        registered = {}

        class Conn:
            def domainEventRegisterAny(self, dom, event, callback, opaque):
                registered['callback'] = callback
                return 7

        domain = CompletedDomain({'downtime': 33})
        watch = job_completed.JobCompletedWatch(Conn(), domain)
        registered['callback'](None, None, {'downtime': 45}, None)
        completion = watch.completion(timeout=0)
        self.assertEqual((45, job_stats.FROM_EVENT),
                         (completion.downtime_ms, completion.source))
        self.assertEqual([], domain.flags)

    def test_domain_gone_gives_none(self):
        domain = CompletedDomain(fakes.LibvirtError('Domain not found', 42))
        watch = job_completed.JobCompletedWatch(object(), domain)
        self.assertIsNone(watch.completion(timeout=0))

    def test_nothing_kept_gives_none(self):
        domain = CompletedDomain({'type': fakes.LIBVIRT.VIR_DOMAIN_JOB_NONE})
        watch = job_completed.JobCompletedWatch(object(), domain)
        self.assertIsNone(watch.completion(timeout=0))

    def test_libvirt_without_the_flag_gives_none(self):
        old = fakes.LIBVIRT.__dict__.copy()
        self.addCleanup(fakes.LIBVIRT.__dict__.update, old)
        del fakes.LIBVIRT.VIR_DOMAIN_JOB_STATS_COMPLETED
        domain = CompletedDomain({'downtime': 33})
        watch = job_completed.JobCompletedWatch(object(), domain)
        self.assertIsNone(watch.completion(timeout=0))
        self.assertEqual([], domain.flags)


class CompletedDomain:
    """A source domain whose completed-job statistics are scripted."""

    def __init__(self, stats):
        self.stats = stats
        self.flags = []

    def jobStats(self, flags=0):
        self.flags.append(flags)
        if isinstance(self.stats, Exception):
            raise self.stats
        return dict(self.stats)
