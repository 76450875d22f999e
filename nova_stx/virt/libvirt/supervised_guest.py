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

"""A libvirt guest proxy that lets a controller steer a live migration.

Nova's live-migration monitor polls ``guest.get_job_info()`` every 0.5 s.
Handing it a :class:`SupervisedGuest` instead of the guest puts a
controller (:mod:`~nova_stx.virt.libvirt.controllers`: the plan's ramp, or
the ``sla`` controller) in charge of the downtime and of ending the job,
without copying the loop. The proxy is the I/O half: it reads the raw job
statistics, feeds them to the controller as a ``JobSample`` and carries
out the decisions, logging and notifying each with its reason.

API (also used directly by the real-libvirt tests)::

    supervised = SupervisedGuest(guest, plan)   # guest: nova Guest(virDomain)
    supervised.apply_initial_downtime()         # optional, before migrating
    ... start guest.migrate(...) in another thread ...
    while True:                                 # every 0.5 s, like Nova
        info = supervised.get_job_info()
        if info.type != VIR_DOMAIN_JOB_UNBOUNDED and <job finished>: break
    supervised.completed(completion) or supervised.aborted('cancelled')

* ``SupervisedGuest(guest, plan, clock=time.monotonic, force_complete=None,
  events=None, instance=None, migration=None, controller=None)``.
  ``clock`` returns seconds; ``force_complete`` is called for the
  ``force_complete`` action and for a post-copy decision (the driver
  passes Nova's ``live_migration_force_complete``); without it the proxy
  calls ``migrate_start_postcopy()`` when ``plan.post_copy`` else
  ``pause()``. ``events`` is a
  :class:`~nova_stx.virt.libvirt.migration_events.MigrationEvents`;
  ``migration`` a Nova Migration whose ``running (post-copy)`` status
  stops every action; ``controller`` defaults to ``controllers.build(plan)``.
* ``get_job_info()`` returns the guest's ``JobInfo`` (Nova's own
  ``Guest.get_job_info``), keeping the raw ``jobStats()`` dict. The first
  call starts the clock and sends the start event. While the job is
  ``VIR_DOMAIN_JOB_UNBOUNDED`` each call hands the controller a sample and
  applies its decisions: ``migrateSetMaxDowntime`` (within QEMU's
  ceiling), ``abort_job()`` (retried on the next polls if libvirt refuses,
  at most :data:`ABORT_ATTEMPTS` times), force-complete or post-copy.
* ``migrate_configure_max_downtime(ms)`` ignores the caller's value: it is
  Nova's global ramp, which the controller replaces.
* ``migrate(destination, flags=0, migrate_uri=None, migrate_disks=None,
  **kwargs)`` applies the plan's auto-converge and tunnelling to ``flags``
  (see :mod:`~nova_stx.virt.libvirt.migration_flags`) and migrates.
* ``completed(completion=None)`` / ``aborted(status, reason=None)`` log and
  notify the outcome; ``completion`` (a ``job_stats.Completion``) adds the
  SLA evidence: real downtime against the max, a breach as a WARNING.
* Read-only state: ``elapsed`` (s, or None before the first poll),
  ``downtime_ms`` (last value set), ``downtimes`` (``[(elapsed, ms)]``
  set), ``decisions`` (``[(elapsed, Decision)]``), ``timeout_action_taken``
  (None, ``'abort'``, ``'post_copy'``, ``'pause'`` or ``'force_complete'``,
  for timeouts and early ends alike), ``plan``, ``guest``, ``controller``.

Every other attribute is the wrapped guest's own. Each migration has its
own proxy, so concurrent migrations share no state.
"""

import threading
import time

from nova.virt.libvirt import guest as libvirt_guest
from oslo_log import log as logging

from nova_stx.virt.libvirt import controllers
from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import job_stats
from nova_stx.virt.libvirt import migration_flags
from nova_stx.virt.libvirt import migration_policy
from nova_stx.virt.libvirt import sla_evidence

LOG = logging.getLogger(__name__)

ABORT_ATTEMPTS = 3
POST_COPY_STATUS = 'running (post-copy)'


def _libvirt():
    # NOTE(nova-stx): read at call time, as Nova does, so the module that
    # Nova's test fixtures swap in for libvirt applies here too.
    return libvirt_guest.libvirt


def _migration_status(migration):
    """Return ``migration.status``, or None when it has none.

    NOTE(nova-stx): a Nova ``Migration`` object with ``status`` unset raises
    NotImplementedError (oslo.versionedobjects cannot lazy-load it), which
    ``getattr(..., None)`` does not catch; a missing status must not break
    the monitor, it only means "not in post-copy".
    """
    if migration is None:
        return None
    try:
        return getattr(migration, 'status', None)
    except (AttributeError, NotImplementedError):
        return None


class _StatsTap:
    """A virDomain that keeps the last raw ``jobStats()`` dict."""

    def __init__(self, domain):
        self._tapped = domain
        self.stats = {}

    def __getattr__(self, name):
        return getattr(self._tapped, name)

    def jobStats(self, *args, **kwargs):
        self.stats = self._tapped.jobStats(*args, **kwargs)
        return self.stats


class SupervisedGuest:
    """Proxy of a ``nova.virt.libvirt.guest.Guest``; see module doc."""

    def __init__(self, guest, plan, clock=time.monotonic,
                 force_complete=None, events=None, instance=None,
                 migration=None, controller=None):
        self.guest = guest
        self.plan = plan
        self.controller = controller or controllers.build(plan)
        self._clock = clock
        self._force_complete = force_complete
        self._events = events
        self._instance = instance
        self._migration = migration
        self._lock = threading.Lock()
        self._start = None
        self._abort_attempts = 0
        self._retry_aborts = False
        self._reported = False
        self._ending = None
        self.elapsed = None
        self.downtime_ms = None
        self.downtimes = []
        self.decisions = []
        self.timeout_action_taken = None

    def __getattr__(self, name):
        # NOTE(nova-stx): only reached for names the proxy lacks; 'guest'
        # itself is missing only on a half-built proxy (e.g. a copy), where
        # delegating would recurse.
        if name == 'guest':
            raise AttributeError(name)
        return getattr(self.guest, name)

    def _log_kw(self):
        return {'instance': self._instance} if self._instance else {}

    # --- the monitor's view -------------------------------------------

    def get_job_info(self):
        """Return the guest's job info, steering the running job."""
        tap = _StatsTap(self.guest._domain)
        info = libvirt_guest.Guest(tap).get_job_info()
        with self._lock:
            now = self._clock()
            if self._start is None:
                self._start = now
                if self._events:
                    self._events.start(self.plan)
            self.elapsed = now - self._start
            if info.type == _libvirt().VIR_DOMAIN_JOB_UNBOUNDED:
                self._steer(tap.stats)
        return info

    def migrate_configure_max_downtime(self, mstime):
        """Ignore Nova's global ramp: the controller sets the downtime."""
        LOG.debug('Nova asked for a max downtime of %(nova)s ms; the '
                  'per-instance controller keeps %(plan)s ms.',
                  {'nova': mstime, 'plan': self.downtime_ms},
                  **self._log_kw())

    def apply_initial_downtime(self):
        """Set the controller's first downtime before the transfer starts.

        :returns: True when libvirt accepted it.
        """
        first = self.controller.initial_downtime_ms
        if first is None:
            return False
        try:
            self.guest.migrate_configure_max_downtime(first)
        except _libvirt().libvirtError as exc:
            LOG.info('Could not set the initial max downtime %(ms)d ms '
                     'before the migration starts (%(exc)s); it is set '
                     'once the migration runs.', {'ms': first, 'exc': exc},
                     **self._log_kw())
            return False
        return True

    def migrate(self, destination, flags=0, migrate_uri=None,
                migrate_disks=None, **kwargs):
        """Migrate with the plan's per-instance flags applied."""
        decision = migration_flags.adjust(
            flags, self.plan.auto_converge, self.plan.tunnelled,
            migration_flags.FlagBits.from_libvirt(_libvirt()),
            migrate_disks or ())
        for note in decision.notes:
            LOG.warning(note, **self._log_kw())
        if decision.drop_migrate_uri:
            migrate_uri = None
        if decision.flags != flags:
            LOG.info('Live migration flags %(old)d changed to %(new)d by '
                     'per-instance auto-converge/tunnelling.',
                     {'old': flags, 'new': decision.flags},
                     **self._log_kw())
        return self.guest.migrate(destination, flags=decision.flags,
                                  migrate_uri=migrate_uri,
                                  migrate_disks=migrate_disks, **kwargs)

    # --- decisions while the job runs ---------------------------------

    def _in_post_copy(self):
        return (self.timeout_action_taken == 'post_copy' or
                _migration_status(self._migration) == POST_COPY_STATUS)

    def _steer(self, stats):
        in_post_copy = self._in_post_copy()
        if self._retry_aborts and not in_post_copy:
            self._abort()
        sample = job_stats.JobSample.from_stats(stats or {}, self.elapsed,
                                                post_copy=in_post_copy)
        for decision in self.controller.observe(sample):
            self.decisions.append((self.elapsed, decision))
            self._apply(decision)

    def _apply(self, decision):
        if decision.action == decisions.SET_DOWNTIME:
            self._set_downtime(decision)
            return
        self._ending = decision
        if decision.cause == decisions.TIMEOUT:
            LOG.warning('Live migration not completed after %d sec',
                        self.plan.timeout_s, **self._log_kw())
        else:
            LOG.warning('%(reason)s Numbers: %(numbers)s',
                        {'reason': decision.reason,
                         'numbers': dict(decision.numbers)},
                        **self._log_kw())
        if decision.action == decisions.ABORT:
            self.timeout_action_taken = 'abort'
            self._abort()
        elif decision.action == decisions.POST_COPY:
            self.timeout_action_taken = self._complete_now(post_copy=True)
        else:
            self.timeout_action_taken = self._complete_now()
        if decision.cause == decisions.TIMEOUT:
            LOG.info('%(reason)s Action: %(action)s.',
                     {'reason': decision.reason,
                      'action': self.timeout_action_taken},
                     **self._log_kw())
            if self._events:
                self._events.timeout(self.elapsed, self.plan.timeout_s,
                                     self.timeout_action_taken,
                                     decision.reason)
        elif self._events:
            self._events.decision(self.elapsed, decision)

    def _set_downtime(self, decision):
        # NOTE(nova-stx): the controllers stay within the plan, which is
        # within QEMU's ceiling; this keeps any value handed to libvirt
        # inside it whatever its origin.
        ms = min(max(int(decision.downtime_ms), 0),
                 migration_policy.QEMU_MAX_DOWNTIME_MS)
        if ms == self.downtime_ms:
            return
        LOG.info('%(reason)s', {'reason': decision.reason},
                 **self._log_kw())
        try:
            self.guest.migrate_configure_max_downtime(ms)
        except _libvirt().libvirtError as exc:
            LOG.warning('Unable to set max downtime to %(ms)d ms: %(exc)s',
                        {'ms': ms, 'exc': exc}, **self._log_kw())
        # NOTE(nova-stx): as Nova does, a refused value is not retried on
        # every poll; the next decision tries again.
        self.downtime_ms = ms
        self.downtimes.append((self.elapsed, ms))
        if self._events:
            self._events.downtime_change(self.elapsed, ms,
                                         self.plan.max_downtime_ms,
                                         decision)

    def _abort(self):
        self._abort_attempts += 1
        self._retry_aborts = False
        try:
            self.guest.abort_job()
        except _libvirt().libvirtError as exc:
            LOG.warning('Failed to abort the live migration (attempt '
                        '%(n)d of %(max)d): %(exc)s',
                        {'n': self._abort_attempts, 'max': ABORT_ATTEMPTS,
                         'exc': exc}, **self._log_kw())
            self._retry_aborts = self._abort_attempts < ABORT_ATTEMPTS

    def _complete_now(self, post_copy=False):
        if self._force_complete is not None:
            self._force_complete()
            return 'post_copy' if post_copy else 'force_complete'
        try:
            if post_copy or self.plan.post_copy:
                self.guest.migrate_start_postcopy()
                return 'post_copy'
            self.guest.pause()
            return 'pause'
        except _libvirt().libvirtError as exc:
            LOG.warning('Failed to force the live migration to complete: '
                        '%s', exc, **self._log_kw())
            return 'force_complete_failed'

    # --- outcome --------------------------------------------------------

    def completed(self, completion=None):
        """Report that the guest now runs on the destination.

        :param completion: libvirt's completed-job statistics (a
            ``job_stats.Completion``), or None when there are none.
        """
        if self._reported:
            return
        self._reported = True
        evidence = sla_evidence.completed(
            completion or job_stats.Completion(), self.plan.max_downtime_ms,
            self.downtime_ms, self.elapsed or 0)
        LOG.info('Live migration completed after %(secs)d sec with max '
                 'downtime %(ms)s ms.',
                 {'secs': self.elapsed or 0, 'ms': self.downtime_ms},
                 **self._log_kw())
        if evidence['downtime_ms'] is not None:
            log = LOG.warning if evidence['breach'] else LOG.info
            log('Live migration SLA: real downtime %(real)s ms, max '
                'downtime %(max)s ms%(breach)s; job %(job)s ms, '
                '%(data)s bytes sent, %(passes)s passes.',
                {'real': evidence['downtime_ms'],
                 'max': evidence['max_downtime_ms'],
                 'breach': ' (BREACH)' if evidence['breach'] else '',
                 'job': evidence['job_time_ms'],
                 'data': evidence['data_bytes'],
                 'passes': evidence['passes']}, **self._log_kw())
        else:
            # NOTE(nova-stx): neither the JOB_COMPLETED event nor the
            # completed-job statistics gave a downtime; say so rather than
            # claim the max downtime was kept.
            LOG.info('Live migration SLA: real downtime unknown (libvirt '
                     'reported no completed-job downtime), max downtime '
                     '%(max)s ms not checked; job %(job)s ms, %(data)s '
                     'bytes sent, %(passes)s passes.',
                     {'max': evidence['max_downtime_ms'],
                      'job': evidence['job_time_ms'],
                      'data': evidence['data_bytes'],
                      'passes': evidence['passes']}, **self._log_kw())
        if self._events:
            self._events.complete(self.elapsed or 0, self.downtime_ms,
                                  evidence)

    def aborted(self, status, reason=None):
        """Report that the migration ended with the guest on the source.

        :param status: the migration status Nova records (``error``,
            ``cancelled``, ``failed``).
        :param reason: why; defaults to the decision that ended it.
        """
        if self._reported:
            return
        self._reported = True
        ending = self._ending
        if reason is None and ending is not None and \
                self.timeout_action_taken == 'abort':
            reason = ending.reason
        saved = sla_evidence.aborted(ending, self.elapsed or 0)
        LOG.warning('Live-Migrate cancelled after %(secs)d sec, status '
                    '%(status)s, reason = %(reason)s',
                    {'secs': self.elapsed or 0, 'status': status,
                     'reason': reason or 'unknown'}, **self._log_kw())
        if saved:
            LOG.info('Ending early saved %(secs).0f sec and about '
                     '%(bytes)s bytes against waiting for the timeout.',
                     {'secs': saved['time_saved_s'],
                      'bytes': saved['bytes_saved']}, **self._log_kw())
        if self._events:
            self._events.abort(self.elapsed or 0, status, reason, saved)
