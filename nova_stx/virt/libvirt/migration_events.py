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

"""Notifications about a supervised live migration.

nova-stx's analogue of StarlingX alarm 700.008 ("instance is live
migrating") and customer log 700.154 ("Live-Migrate cancelled ...").

Event types (publisher ``nova-stx.<host>``):

* ``nova_stx.live_migration.start`` (INFO): the plan, with every
  effective limit, its source and any ignored or adjusted value;
* ``nova_stx.live_migration.downtime_change`` (INFO): a new max downtime
  applied, with the controller's ``cause``, ``reason`` and ``numbers``;
* ``nova_stx.live_migration.decision`` (WARN): the controller ended the
  migration early (abort or post-copy), with ``action``, ``cause``,
  ``reason`` and ``numbers``;
* ``nova_stx.live_migration.timeout`` (WARN): the timeout was reached and
  its action run;
* ``nova_stx.live_migration.complete`` (INFO): with ``sla``, the real
  downtime libvirt measured against the max downtime, total time, data
  sent and passes;
* ``nova_stx.live_migration.sla_breach`` (WARN): the real downtime was
  longer than the max downtime;
* ``nova_stx.live_migration.abort`` (WARN): the migration ended without
  moving the guest (cancelled, failed, or the monitor gave up); the guest
  stays on the source; ``saved`` says what an early end saved.

Payloads are plain dicts and always carry ``instance_uuid``, ``host``,
``dest`` and ``elapsed_s``.

NOTE(nova-stx): these are unversioned notifications sent through Nova's
own notification transport and driver (``[oslo_messaging_notifications]``)
with the publisher ``nova-stx.<host>``. Nova's versioned notifications
need registered payload objects whose schema Nova owns; a plugin cannot
extend it. As Nova's legacy notifications, they are emitted when
``[notifications] notification_format`` is ``unversioned`` (Nova's
default) or ``both``.
"""

from nova import rpc
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

PREFIX = 'nova_stx.live_migration.'
START = PREFIX + 'start'
DOWNTIME_CHANGE = PREFIX + 'downtime_change'
DECISION = PREFIX + 'decision'
TIMEOUT = PREFIX + 'timeout'
COMPLETE = PREFIX + 'complete'
SLA_BREACH = PREFIX + 'sla_breach'
ABORT = PREFIX + 'abort'


def get_notifier(host):
    """Return an oslo.messaging notifier for ``host``, or None.

    :param host: this compute host's name.
    :returns: a notifier, or None when Nova's RPC layer is not set up
        (e.g. a standalone tool).
    """
    if rpc.LEGACY_NOTIFIER is None:
        return None
    return rpc.LEGACY_NOTIFIER.prepare(publisher_id='nova-stx.%s' % host)


class MigrationEvents:
    """Sends the events of one live migration.

    :param notifier: an oslo.messaging notifier (``info``/``warn``), or
        None to only log.
    :param context: the request context the notifications carry.
    :param instance_uuid: the migrating instance.
    :param host: the source host.
    :param dest: the destination host.
    """

    def __init__(self, notifier, context, instance_uuid, host, dest):
        self._notifier = notifier
        self._context = context
        self._base = {'instance_uuid': instance_uuid, 'host': host,
                      'dest': dest}

    def _send(self, priority, event_type, elapsed, **fields):
        payload = dict(self._base, elapsed_s=int(elapsed), **fields)
        if self._notifier is None:
            return payload
        try:
            getattr(self._notifier, priority)(self._context, event_type,
                                              payload)
        except Exception as exc:
            # NOTE(nova-stx): a broken message bus must not break the
            # migration it reports on.
            LOG.warning('Could not send %(event)s: %(exc)s',
                        {'event': event_type, 'exc': exc})
        return payload

    def start(self, plan):
        """Report the limits the migration runs with."""
        return self._send('info', START, 0, **plan.to_dict())

    def downtime_change(self, elapsed, downtime_ms, max_downtime_ms,
                        decision=None):
        """Report a max downtime applied to libvirt, and why."""
        fields = {}
        if decision is not None:
            fields = {'cause': decision.cause, 'reason': decision.reason,
                      'numbers': dict(decision.numbers)}
        return self._send('info', DOWNTIME_CHANGE, elapsed,
                          downtime_ms=downtime_ms,
                          max_downtime_ms=max_downtime_ms, **fields)

    def decision(self, elapsed, decision):
        """Report an early end the controller decided."""
        return self._send('warn', DECISION, elapsed, **decision.to_dict())

    def timeout(self, elapsed, timeout_s, action, reason):
        """Report the timeout and the action taken."""
        return self._send('warn', TIMEOUT, elapsed, timeout_s=timeout_s,
                          action=action, reason=reason)

    def complete(self, elapsed, downtime_ms, evidence=None):
        """Report a migration that moved the guest.

        :param downtime_ms: the last max downtime set.
        :param evidence: ``sla_evidence.completed()``; a breach is also
            sent as its own ``sla_breach`` notification.
        """
        payload = self._send('info', COMPLETE, elapsed,
                             downtime_ms=downtime_ms, sla=evidence or {})
        if evidence and evidence.get('breach'):
            self._send('warn', SLA_BREACH, elapsed, sla=evidence)
        return payload

    def abort(self, elapsed, status, reason, saved=None):
        """Report a migration that left the guest on the source."""
        return self._send('warn', ABORT, elapsed, migration_status=status,
                          reason=reason, saved=saved or {})
