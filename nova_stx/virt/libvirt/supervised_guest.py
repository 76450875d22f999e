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

"""A libvirt guest proxy that makes a live migration follow a plan.

Nova's live-migration monitor polls ``guest.get_job_info()`` every 0.5 s.
Handing it a :class:`SupervisedGuest` instead of the guest puts the
per-instance :class:`~nova_stx.virt.libvirt.migration_policy.MigrationPlan`
in charge of the downtime ramp and the timeout, without copying the loop.

API (also used directly by the real-libvirt tests)::

    supervised = SupervisedGuest(guest, plan)   # guest: nova Guest(virDomain)
    supervised.apply_initial_downtime()         # optional, before migrating
    ... start guest.migrate(...) in another thread ...
    while True:                                 # every 0.5 s, like Nova
        info = supervised.get_job_info()
        if info.type != VIR_DOMAIN_JOB_UNBOUNDED and <job finished>: break
    supervised.completed() or supervised.aborted('cancelled')

* ``SupervisedGuest(guest, plan, clock=time.monotonic, force_complete=None,
  events=None, instance=None, migration=None)``. ``clock`` returns seconds;
  ``force_complete`` is called for the ``force_complete`` action (the driver
  passes Nova's ``live_migration_force_complete``); without it the proxy
  calls ``migrate_start_postcopy()`` when ``plan.post_copy`` else
  ``pause()``. ``events`` is a
  :class:`~nova_stx.virt.libvirt.migration_events.MigrationEvents`;
  ``migration`` a Nova Migration whose ``running (post-copy)`` status stops
  the timeout.
* ``get_job_info()`` returns the guest's ``JobInfo`` unchanged. The first
  call starts the clock and sends the start event. While the job is
  ``VIR_DOMAIN_JOB_UNBOUNDED`` each call sets the plan's downtime for the
  elapsed time (``migrateSetMaxDowntime``, only when it changes) and, once
  the elapsed time exceeds ``plan.timeout_s`` (0: never), runs the timeout
  action once: ``abort`` calls ``abort_job()`` (retried on the next polls
  if libvirt refuses, at most :data:`ABORT_ATTEMPTS` times).
* ``migrate_configure_max_downtime(ms)`` ignores the caller's value: it is
  Nova's global ramp, which the plan replaces.
* ``migrate(destination, flags=0, migrate_uri=None, migrate_disks=None,
  **kwargs)`` applies the plan's auto-converge and tunnelling to ``flags``
  (see :mod:`~nova_stx.virt.libvirt.migration_flags`) and migrates.
* ``completed()`` / ``aborted(status, reason=None)`` log and notify the
  outcome; the driver calls them from Nova's post/recover methods.
* Read-only state: ``elapsed`` (s, or None before the first poll),
  ``downtime_ms`` (last value set), ``downtimes`` (``[(elapsed, ms)]`` set),
  ``timeout_action_taken`` (None, ``'abort'``, ``'post_copy'``, ``'pause'``
  or ``'force_complete'``), ``plan``, ``guest``.

Every other attribute is the wrapped guest's own. Each migration has its
own proxy, so concurrent migrations share no state.
"""

import threading
import time

from nova.virt.libvirt import guest as libvirt_guest
from oslo_log import log as logging

from nova_stx.virt.libvirt import migration_flags
from nova_stx.virt.libvirt import migration_policy

LOG = logging.getLogger(__name__)

ABORT_ATTEMPTS = 3
POST_COPY_STATUS = 'running (post-copy)'


def _libvirt():
    # NOTE(nova-stx): read at call time, as Nova does, so the module that
    # Nova's test fixtures swap in for libvirt applies here too.
    return libvirt_guest.libvirt


class SupervisedGuest:
    """Proxy of a ``nova.virt.libvirt.guest.Guest``; see module doc."""

    def __init__(self, guest, plan, clock=time.monotonic,
                 force_complete=None, events=None, instance=None,
                 migration=None):
        self.guest = guest
        self.plan = plan
        self._clock = clock
        self._force_complete = force_complete
        self._events = events
        self._instance = instance
        self._migration = migration
        self._lock = threading.Lock()
        self._start = None
        self._abort_attempts = 0
        self._reported = False
        self.elapsed = None
        self.downtime_ms = None
        self.downtimes = []
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
        """Return the guest's job info, supervising the running job."""
        info = self.guest.get_job_info()
        with self._lock:
            now = self._clock()
            if self._start is None:
                self._start = now
                if self._events:
                    self._events.start(self.plan)
            self.elapsed = now - self._start
            if info.type == _libvirt().VIR_DOMAIN_JOB_UNBOUNDED:
                self._set_downtime(self.plan.downtime_at(self.elapsed))
                self._check_timeout()
        return info

    def migrate_configure_max_downtime(self, mstime):
        """Ignore Nova's global ramp: the plan sets the downtime."""
        LOG.debug('Nova asked for a max downtime of %(nova)s ms; the '
                  'per-instance plan keeps %(plan)s ms.',
                  {'nova': mstime, 'plan': self.downtime_ms},
                  **self._log_kw())

    def apply_initial_downtime(self):
        """Set the plan's first downtime step before the transfer starts.

        :returns: True when libvirt accepted it.
        """
        first = self.plan.steps[0][1]
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

    def _set_downtime(self, ms):
        if ms is None:
            return
        # NOTE(nova-stx): the plan is already within QEMU's ceiling; this
        # keeps any value handed to libvirt inside it whatever its origin.
        ms = min(max(int(ms), 0), migration_policy.QEMU_MAX_DOWNTIME_MS)
        if ms == self.downtime_ms:
            return
        LOG.info('Increasing downtime to %(ms)d ms after %(secs)d sec '
                 'elapsed time (maximum %(max)d ms).',
                 {'ms': ms, 'secs': self.elapsed,
                  'max': self.plan.max_downtime_ms}, **self._log_kw())
        try:
            self.guest.migrate_configure_max_downtime(ms)
        except _libvirt().libvirtError as exc:
            LOG.warning('Unable to set max downtime to %(ms)d ms: %(exc)s',
                        {'ms': ms, 'exc': exc}, **self._log_kw())
        # NOTE(nova-stx): as Nova does, a refused value is not retried on
        # every poll; the next step tries again.
        self.downtime_ms = ms
        self.downtimes.append((self.elapsed, ms))
        if self._events:
            self._events.downtime_change(self.elapsed, ms,
                                         self.plan.max_downtime_ms)

    def _in_post_copy(self):
        return (self.timeout_action_taken == 'post_copy' or
                getattr(self._migration, 'status', None) == POST_COPY_STATUS)

    def _check_timeout(self):
        if not self.plan.timed_out(self.elapsed) or self._in_post_copy():
            return
        if self.timeout_action_taken is not None:
            if self.timeout_action_taken == 'abort' and self._retry_abort():
                self._abort()
            return
        LOG.warning('Live migration not completed after %d sec',
                    self.plan.timeout_s, **self._log_kw())
        reason = 'Live migration timeout after %d sec.' % self.plan.timeout_s
        if self.plan.timeout_action == migration_policy.FORCE_COMPLETE:
            self.timeout_action_taken = self._complete_now()
        else:
            self.timeout_action_taken = 'abort'
            self._abort()
        LOG.info('%(reason)s Action: %(action)s.',
                 {'reason': reason, 'action': self.timeout_action_taken},
                 **self._log_kw())
        if self._events:
            self._events.timeout(self.elapsed, self.plan.timeout_s,
                                 self.timeout_action_taken, reason)

    def _retry_abort(self):
        return 0 < self._abort_attempts < ABORT_ATTEMPTS

    def _abort(self):
        self._abort_attempts += 1
        try:
            self.guest.abort_job()
            self._abort_attempts = ABORT_ATTEMPTS
        except _libvirt().libvirtError as exc:
            LOG.warning('Failed to abort the live migration (attempt '
                        '%(n)d of %(max)d): %(exc)s',
                        {'n': self._abort_attempts, 'max': ABORT_ATTEMPTS,
                         'exc': exc}, **self._log_kw())

    def _complete_now(self):
        if self._force_complete is not None:
            self._force_complete()
            return 'force_complete'
        try:
            if self.plan.post_copy:
                self.guest.migrate_start_postcopy()
                return 'post_copy'
            self.guest.pause()
            return 'pause'
        except _libvirt().libvirtError as exc:
            LOG.warning('Failed to force the live migration to complete: '
                        '%s', exc, **self._log_kw())
            return 'force_complete_failed'

    # --- outcome --------------------------------------------------------

    def completed(self):
        """Report that the guest now runs on the destination."""
        if self._reported:
            return
        self._reported = True
        LOG.info('Live migration completed after %(secs)d sec with max '
                 'downtime %(ms)s ms.',
                 {'secs': self.elapsed or 0, 'ms': self.downtime_ms},
                 **self._log_kw())
        if self._events:
            self._events.complete(self.elapsed or 0, self.downtime_ms)

    def aborted(self, status, reason=None):
        """Report that the migration ended with the guest on the source.

        :param status: the migration status Nova records (``error``,
            ``cancelled``, ``failed``).
        :param reason: why; defaults to the timeout when it fired.
        """
        if self._reported:
            return
        self._reported = True
        if reason is None and self.timeout_action_taken == 'abort':
            reason = ('Live migration timeout after %d sec.' %
                      self.plan.timeout_s)
        LOG.warning('Live-Migrate cancelled after %(secs)d sec, status '
                    '%(status)s, reason = %(reason)s',
                    {'secs': self.elapsed or 0, 'status': status,
                     'reason': reason or 'unknown'}, **self._log_kw())
        if self._events:
            self._events.abort(self.elapsed or 0, status, reason)
