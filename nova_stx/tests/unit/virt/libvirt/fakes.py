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

"""Scripted and simulated virDomains and a clock for the unit tests.

Nova's Guest runs unchanged over :class:`Domain`; the libvirt module seen
by Nova's guest module is replaced by :data:`LIBVIRT`, so these tests need
neither libvirt-python nor Nova's test fixtures.
"""

import types

import fixtures

from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import precopy_sim


class LibvirtError(Exception):

    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.code = code

    def get_error_code(self):
        return self.code

    def get_error_message(self):
        return str(self)


#: The libvirt names Nova's Guest and nova-stx use, with libvirt's values.
LIBVIRT = types.SimpleNamespace(
    libvirtError=LibvirtError,
    VIR_DOMAIN_JOB_NONE=0, VIR_DOMAIN_JOB_UNBOUNDED=2,
    VIR_DOMAIN_JOB_COMPLETED=3, VIR_DOMAIN_JOB_FAILED=4,
    VIR_DOMAIN_JOB_CANCELLED=5, VIR_DOMAIN_EVENT_ID_JOB_COMPLETED=21,
    VIR_DOMAIN_JOB_STATS_COMPLETED=1,
    VIR_ERR_NO_SUPPORT=3, VIR_ERR_NO_DOMAIN=42, VIR_ERR_OPERATION_INVALID=55,
    VIR_ERR_INTERNAL_ERROR=1,
    VIR_MIGRATE_LIVE=1, VIR_MIGRATE_TUNNELLED=4,
    VIR_MIGRATE_NON_SHARED_INC=128, VIR_MIGRATE_AUTO_CONVERGE=8192,
    VIR_MIGRATE_POSTCOPY=32768, VIR_MIGRATE_TLS=65536,
    VIR_MIGRATE_PARALLEL=131072,
    VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS='parallel.connections')

UNBOUNDED = LIBVIRT.VIR_DOMAIN_JOB_UNBOUNDED


class FakeLibvirtFixture(fixtures.Fixture):
    """Make Nova's guest module use :data:`LIBVIRT`."""

    def _setUp(self):
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.guest.libvirt', LIBVIRT))


class Clock:
    """A clock that only moves when told."""

    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


class Domain:
    """A virDomain whose job type is scripted; records what was asked.

    :param job_types: job type returned by each ``jobStats()`` call; the
        last one repeats.
    """

    def __init__(self, job_types=(UNBOUNDED,)):
        self.job_types = list(job_types)
        self.calls = []
        self.fail = {}

    def _record(self, name, *args):
        self.calls.append((name,) + args)
        if name in self.fail:
            raise LibvirtError(self.fail[name])

    def calls_to(self, name):
        return [c[1:] for c in self.calls if c[0] == name]

    def jobStats(self, flags=0):
        job = (self.job_types.pop(0) if len(self.job_types) > 1
               else self.job_types[0])
        return {'type': job, 'memory_total': 100, 'memory_remaining': 50}

    def migrateSetMaxDowntime(self, ms):
        self._record('migrateSetMaxDowntime', ms)

    def abortJob(self):
        self._record('abortJob')

    def migrateStartPostCopy(self):
        self._record('migrateStartPostCopy')

    def suspend(self):
        self._record('suspend')

    def migrateToURI3(self, uri, params, flags):
        self._record('migrateToURI3', uri, params, flags)

    def name(self):
        return 'instance-00000001'


class SimulatedDomain:
    """A virDomain whose migration job is a simulated QEMU pre-copy job.

    The job (``precopy_sim.Job``) runs on ``clock`` from ``start``; the
    steering calls reach it as libvirt's would reach QEMU.
    """

    def __init__(self, workload, clock, start):
        self.job = precopy_sim.Job(workload,
                                   precopy_sim.QEMU_DEFAULT_DOWNTIME_MS)
        self.clock = clock
        self.start = start
        self.calls = []

    def _now(self):
        return self.clock() - self.start

    def jobStats(self, flags=0):
        now = self._now()
        self.job.advance(now)
        if self.job.done is None:
            return self.job.stats(now)
        if self.job.done[0] == precopy_sim.ABORTED:
            return {'type': LIBVIRT.VIR_DOMAIN_JOB_CANCELLED}
        return {'type': LIBVIRT.VIR_DOMAIN_JOB_COMPLETED}

    def _decide(self, name, action, **kwargs):
        self.calls.append((self._now(), name) + tuple(kwargs.values()))
        self.job.apply(decisions.Decision(action, 'libvirt', name,
                                          **kwargs))

    def migrateSetMaxDowntime(self, ms, flags=0):
        self._decide('migrateSetMaxDowntime', decisions.SET_DOWNTIME,
                     downtime_ms=ms)

    def abortJob(self):
        self._decide('abortJob', decisions.ABORT)

    def migrateStartPostCopy(self, flags=0):
        self._decide('migrateStartPostCopy', decisions.POST_COPY)

    def suspend(self):
        self._decide('suspend', decisions.FORCE_COMPLETE)

    def UUIDString(self):
        return 'c0ffee00-0000-0000-0000-000000000001'

    def name(self):
        return 'instance-00000001'
