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

"""One live migration from lab host A to B, supervised by the policy.

This is the lab's stand-in for Nova's live-migration monitor: the
migration call (Nova's ``Guest.migrate``, i.e. ``migrateToURI3``,
peer-to-peer) runs in a thread on one connection, and a loop polls
``get_job_info()`` of a
:class:`~nova_stx.virt.libvirt.supervised_guest.SupervisedGuest` every
0.5 s on a second connection, so the proxy applies the plan's downtime
ramp and timeout action to the real job. Every libvirt call made while
the migration is in flight is bounded by :func:`watchdog.call`.

When monitoring fails (the connection drops, a call hangs), the loop does
what Nova does: it aborts the job over a fresh connection so the guest
stays on the source, and reports the outcome. The
:class:`~nova_stx.tests.lab.outcome.Outcome` says where the guest ended, from
libvirt itself.
"""

import threading
import time

from nova.virt.libvirt import guest as libvirt_guest
from oslo_log import log as logging

from nova_stx.tests.lab import guest as lab_guest
from nova_stx.tests.lab import outcome as lab_outcome
from nova_stx.tests.lab import watchdog
from nova_stx.virt.libvirt import job_stats
from nova_stx.virt.libvirt import supervised_guest

LOG = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
CALL_TIMEOUT = 10
#: How long the migration call may take to return once the job ended.
JOIN_TIMEOUT = 60


def _close(conn):
    libvirt = libvirt_guest.libvirt
    try:
        watchdog.call(conn.close, timeout=CALL_TIMEOUT)
    except (libvirt.libvirtError, watchdog.Hung):
        pass


def _state(host, name):
    """Return the guest's state on ``host`` and its completed-job stats.

    :returns: ``(state, stats)``: a value of ``outcome.STATE_NAMES``,
        ``outcome.ABSENT`` or ``outcome.UNREACHABLE``, and a dict.
    """
    libvirt = libvirt_guest.libvirt
    try:
        conn = host.open(timeout=CALL_TIMEOUT)
    except (libvirt.libvirtError, watchdog.Hung):
        return lab_outcome.UNREACHABLE, {}
    try:
        try:
            dom = watchdog.call(conn.lookupByName, name,
                                timeout=CALL_TIMEOUT)
        except libvirt.libvirtError:
            return lab_outcome.ABSENT, {}
        state = watchdog.call(dom.state, timeout=CALL_TIMEOUT)[0]
        try:
            stats = watchdog.call(
                dom.jobStats, libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED,
                timeout=CALL_TIMEOUT)
        except libvirt.libvirtError:
            stats = {}
        return lab_outcome.STATE_NAMES.get(state, str(state)), stats
    except (libvirt.libvirtError, watchdog.Hung):
        return lab_outcome.UNREACHABLE, {}
    finally:
        _close(conn)


def abort_over_fresh_connection(host, uuid):
    """Abort ``uuid``'s job on ``host`` over a new connection.

    :returns: None on success, else why it failed (e.g. no job left).
    """
    libvirt = libvirt_guest.libvirt
    try:
        conn = host.open(timeout=CALL_TIMEOUT)
    except (libvirt.libvirtError, watchdog.Hung) as exc:
        return str(exc)
    try:
        dom = watchdog.call(conn.lookupByUUIDString, uuid,
                            timeout=CALL_TIMEOUT)
        watchdog.call(dom.abortJob, timeout=CALL_TIMEOUT)
    except (libvirt.libvirtError, watchdog.Hung) as exc:
        return str(exc)
    finally:
        _close(conn)
    return None


class Run:
    """A supervised migration of guest ``name`` from ``lab.a`` to ``lab.b``.

    :param lab: a set-up :class:`~nova_stx.tests.lab.two_hosts.TwoHostLab`.
    :param name: the guest, running on host A.
    :param plan: a ``MigrationPlan`` from
        :func:`nova_stx.virt.libvirt.migration_policy.plan`.
    :param bandwidth_mib: the migration's bandwidth cap, MiB/s.
    :param clock: the proxy's clock (seconds); the real one by default.
    :param events: a ``MigrationEvents`` for the proxy, or None.
    :param on_poll: called as ``on_poll(run, wall_elapsed_s)`` after each
        poll; tests inject faults with it.
    """

    def __init__(self, lab, name, plan, bandwidth_mib, clock=time.monotonic,
                 events=None, on_poll=None):
        self.lab = lab
        self.name = name
        self.plan = plan
        self.bandwidth_mib = bandwidth_mib
        self.clock = clock
        self.events = events
        self.on_poll = on_poll
        self.outcome = lab_outcome.Outcome()
        self.uuid = None
        self.monitor_conn = None
        self._result = {}
        self._unconfirmed_error = None

    def _flags(self):
        libvirt = libvirt_guest.libvirt
        # NOTE(nova-stx): the flags Nova's driver uses for a live
        # migration with shared (here: no) storage; post-copy only when
        # the plan permits it, as [libvirt] live_migration_permit_post_copy
        # does.
        flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER |
                 libvirt.VIR_MIGRATE_PERSIST_DEST |
                 libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
        if self.plan.post_copy:
            flags |= libvirt.VIR_MIGRATE_POSTCOPY
        return flags

    def _migrate(self, mover, dest_xml):
        libvirt = libvirt_guest.libvirt
        started = time.monotonic()
        try:
            mover.migrate(self.lab.b.spec.peer_uri, flags=self._flags(),
                          migrate_uri=self.lab.b.spec.migrate_uri,
                          destination_xml=dest_xml,
                          bandwidth=self.bandwidth_mib)
            self._result['migrated'] = True
        except libvirt.libvirtError as exc:
            self._result['error'] = exc.get_error_message()
            self._result['error_code'] = exc.get_error_code()
        finally:
            self._result['wall_s'] = time.monotonic() - started

    def run(self):
        """Migrate, supervise, and report where the guest ended.

        :returns: the :class:`~nova_stx.tests.lab.outcome.Outcome`.
        """
        libvirt = libvirt_guest.libvirt
        migration_conn = self.lab.a.open()
        dom = migration_conn.lookupByName(self.name)
        self.uuid = dom.UUIDString()
        dom.migrateSetMaxSpeed(self.bandwidth_mib, 0)
        dest_xml = lab_guest.destination_xml(
            dom.XMLDesc(libvirt.VIR_DOMAIN_XML_MIGRATABLE), self.lab.a,
            self.lab.b, self.name)
        mover = supervised_guest.SupervisedGuest(
            libvirt_guest.Guest(dom), self.plan)
        # NOTE(nova-stx): a second connection for monitoring: with
        # libvirt 9.0's client, calls on the connection blocked in
        # migrateToURI3() can hang for ever.
        self.monitor_conn = self.lab.a.open()
        watched = self.monitor_conn.lookupByUUIDString(self.uuid)
        proxy = supervised_guest.SupervisedGuest(
            libvirt_guest.Guest(watched), self.plan, clock=self.clock,
            events=self.events)
        proxy.apply_initial_downtime()

        worker = threading.Thread(target=self._migrate,
                                  args=(mover, dest_xml),
                                  name=f'migrate {self.name}', daemon=True)
        started = time.monotonic()
        worker.start()
        self._monitor(proxy, watched, worker, started)
        worker.join(JOIN_TIMEOUT)
        if worker.is_alive():
            LOG.error('Migration call of %(name)s still blocked %(secs)d s '
                      'after its job ended; aborting again.',
                      {'name': self.name, 'secs': JOIN_TIMEOUT})
            abort_over_fresh_connection(self.lab.a, self.uuid)
            worker.join(JOIN_TIMEOUT)
        self._finish(proxy)
        for conn in (self.monitor_conn, migration_conn):
            _close(conn)
        return self.outcome

    def _monitor(self, proxy, watched, worker, started):
        libvirt = libvirt_guest.libvirt
        finished = (libvirt.VIR_DOMAIN_JOB_COMPLETED,
                    libvirt.VIR_DOMAIN_JOB_FAILED,
                    libvirt.VIR_DOMAIN_JOB_CANCELLED)
        out = self.outcome
        while True:
            try:
                info = watchdog.call(proxy.get_job_info,
                                     timeout=CALL_TIMEOUT)
            except (libvirt.libvirtError, watchdog.Hung) as exc:
                self._monitor_failed(exc)
                return
            out.polls += 1
            if info.type == libvirt.VIR_DOMAIN_JOB_UNBOUNDED:
                if self._unconfirmed_error:
                    # The job still runs: the last read-back really failed.
                    out.read_errors.append(self._unconfirmed_error)
                self._read_back(watched, proxy)
            if info.type in finished or (
                    not worker.is_alive() and
                    info.type != libvirt.VIR_DOMAIN_JOB_UNBOUNDED):
                return
            if self.on_poll:
                self.on_poll(self, time.monotonic() - started)
            worker.join(POLL_INTERVAL)

    def _read_back(self, watched, proxy):
        libvirt = libvirt_guest.libvirt
        out = self.outcome
        try:
            ms = watchdog.call(watched.migrateGetMaxDowntime, 0,
                               timeout=CALL_TIMEOUT)
            if out.bandwidth_read is None:
                out.bandwidth_read = watchdog.call(
                    watched.migrateGetMaxSpeed, 0, timeout=CALL_TIMEOUT)
        except (libvirt.libvirtError, watchdog.Hung) as exc:
            ms, error = None, str(exc)
        else:
            # NOTE(nova-stx): the binding returns None instead of raising
            # when the driver fails this call.
            error = 'migrateGetMaxDowntime returned None'
        # NOTE(nova-stx): a job that ends between the poll and the
        # read-back takes its domain with it; a failure only counts once
        # the next poll shows the job still running.
        self._unconfirmed_error = error if ms is None else None
        if ms is not None:
            out.downtimes_read.append((proxy.elapsed, ms))

    def _monitor_failed(self, exc):
        """Fail safe as Nova does: abort so the guest stays put."""
        self.outcome.monitor_error = str(exc)
        LOG.warning('Error monitoring migration of %(name)s: %(exc)s; '
                    'aborting it so the guest stays on the source.',
                    {'name': self.name, 'exc': exc})
        failure = abort_over_fresh_connection(self.lab.a, self.uuid)
        if failure:
            LOG.warning('Abort of the migration of %(name)s failed: '
                        '%(why)s', {'name': self.name, 'why': failure})

    def _finish(self, proxy):
        libvirt = libvirt_guest.libvirt
        out = self.outcome
        out.migrated = self._result.get('migrated', False)
        out.error = self._result.get('error')
        out.error_code = self._result.get('error_code')
        out.wall_s = round(self._result.get('wall_s', 0.0), 2)
        out.downtimes_set = list(proxy.downtimes)
        out.decisions = list(proxy.decisions)
        out.timeout_action = proxy.timeout_action_taken
        out.source_state, _ = _state(self.lab.a, self.name)
        out.dest_state, out.job_stats = _state(self.lab.b, self.name)
        if out.where == lab_outcome.DESTINATION:
            # The destination keeps the completed job's statistics: the
            # real downtime is the SLA evidence.
            proxy.completed(job_stats.Completion.from_stats(
                out.job_stats, source=job_stats.FROM_JOB_STATS))
            return
        if out.error_code == libvirt.VIR_ERR_OPERATION_ABORTED:
            status = 'cancelled'
        else:
            status = 'error'
        reason = out.monitor_error or out.error
        if proxy.timeout_action_taken == 'abort':
            reason = None  # the proxy names the timeout
        proxy.aborted(status, reason)
        LOG.info('Live migration of %(name)s ended with the guest on the '
                 '%(where)s (source %(src)s, destination %(dst)s).',
                 {'name': self.name, 'where': out.where,
                  'src': out.source_state, 'dst': out.dest_state})
