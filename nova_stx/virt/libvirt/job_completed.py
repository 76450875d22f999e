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
source soon after, so the event is the one place to read them. Events are
dispatched by the libvirt event loop Nova's ``Host`` runs; without one
(or with a driver that has no such event) the watch simply has nothing.
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
        """Return the ``job_stats.Completion``, or None if none came.

        :param timeout: seconds to wait for the event.
        """
        if self._id is None or not self._done.wait(timeout):
            return None
        return job_stats.Completion.from_stats(self.stats)

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
