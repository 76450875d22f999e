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

"""libvirt's statistics of a finished migration job, for SLA evidence.

The source libvirtd sends ``VIR_DOMAIN_EVENT_ID_JOB_COMPLETED`` with the
real downtime, the job time and the data sent; the domain is gone from the
source soon after, so the event is the best place to read them. Events are
dispatched by the libvirt event loop Nova's ``Host`` runs. On real hosts
the event sometimes does not come (no event loop, a driver without the
event, a lost callback); then the watch reads the completed-job statistics
of the source domain, ``jobStats(VIR_DOMAIN_JOB_STATS_COMPLETED)``
(libvirt >= 1.3.3), while the domain is still there. With neither the
completion has no downtime, which the SLA evidence reports as unknown.
"""

import threading

from nova.virt.libvirt import guest as libvirt_guest
from oslo_log import log as logging

from nova_stx.virt.libvirt import job_stats

LOG = logging.getLogger(__name__)


class JobCompletedWatch:
    """Receives the JOB_COMPLETED event of one domain.

    :param conn: a ``virConnect`` with a running event loop.
    :param domain: the migrating ``virDomain``.
    """

    def __init__(self, conn, domain):
        self._conn = conn
        self._domain = domain
        self._done = threading.Event()
        self.stats = None
        self._id = None
        libvirt = libvirt_guest.libvirt
        try:
            self._id = conn.domainEventRegisterAny(
                domain, libvirt.VIR_DOMAIN_EVENT_ID_JOB_COMPLETED,
                self._received, None)
        except (libvirt.libvirtError, AttributeError) as exc:
            LOG.debug('No JOB_COMPLETED event for SLA evidence: %s', exc)

    def _received(self, conn, domain, params, opaque):
        self.stats = dict(params or {})
        self._done.set()

    def completion(self, timeout=2.0):
        """Return the ``job_stats.Completion``, or None if libvirt has none.

        Fields the event lacks (all of them when it did not come within
        ``timeout``) are read from the source domain's completed-job
        statistics.

        :param timeout: seconds to wait for the event.
        """
        event = None
        if self._id is not None and self._done.wait(timeout):
            event = self.stats or None
        if event and 'downtime' in event:
            return job_stats.Completion.from_stats(
                event, source=job_stats.FROM_EVENT)
        completed = self._completed_job_stats()
        if not event and not completed:
            return None
        merged = dict(completed or {})
        merged.update(event or {})
        return job_stats.Completion.from_stats(
            merged, source=job_stats.FROM_JOB_STATS)

    def _completed_job_stats(self):
        libvirt = libvirt_guest.libvirt
        flag = getattr(libvirt, 'VIR_DOMAIN_JOB_STATS_COMPLETED', None)
        if flag is None:
            LOG.debug('libvirt has no VIR_DOMAIN_JOB_STATS_COMPLETED; no '
                      'completed-job statistics for SLA evidence.')
            return None
        try:
            stats = self._domain.jobStats(flag)
        except (libvirt.libvirtError, AttributeError) as exc:
            # NOTE(nova-stx): a transient source domain is usually gone
            # once the migration completed; nothing to read then.
            LOG.debug('No completed-job statistics for SLA evidence: %s',
                      exc)
            return None
        # NOTE(nova-stx): libvirt returns {'type': VIR_DOMAIN_JOB_NONE}
        # when it kept nothing about the last job.
        stats = dict(stats or {})
        stats.pop('type', None)
        stats.pop('operation', None)
        return stats or None

    def close(self):
        """Stop listening (idempotent)."""
        if self._id is None:
            return
        libvirt = libvirt_guest.libvirt
        try:
            self._conn.domainEventDeregisterAny(self._id)
        except (libvirt.libvirtError, AttributeError) as exc:
            LOG.debug('Could not deregister JOB_COMPLETED: %s', exc)
        self._id = None
