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

"""What a migration controller decides, and the limits it decides within.

A controller is pure decision code: it is fed
:class:`~nova_stx.virt.libvirt.job_stats.JobSample` records and answers
with :class:`Decision` records; the driver glue (``SupervisedGuest``) or
the simulator (``precopy_sim``) carry them out. Every controller has:

* ``initial_downtime_ms``: the downtime to set before the transfer
  starts, or None to leave libvirt's;
* ``observe(sample)``: a tuple of decisions for this poll (often empty);
* ``next_poll_s(elapsed_s)``: the earliest elapsed time at which a poll
  can lead to a decision (a simulator may skip the polls before it).
"""

import dataclasses
import typing as ty

#: Allow the switch-over to pause the guest up to ``downtime_ms``.
SET_DOWNTIME = 'set_downtime'
#: Cancel the job; the guest keeps running on the source.
ABORT = 'abort'
#: Nova's force-complete: post-copy when armed, else pause the guest.
FORCE_COMPLETE = 'force_complete'
#: Switch the running job to post-copy (armed at start).
POST_COPY = 'post_copy'
ACTIONS = (SET_DOWNTIME, ABORT, FORCE_COMPLETE, POST_COPY)

#: Why: the first downtime, set again at the first poll (SLA controller).
INITIAL = 'initial'
#: Why: a ramp step came due.
RAMP = 'ramp'
#: Why: the timeout passed.
TIMEOUT = 'timeout'
#: Why: the next switch-over needs this downtime (SLA controller).
CONVERGING = 'converging'
#: Why: the plateau cannot fit the max downtime, or the prediction
#: does not fit the time left (SLA controller).
HOPELESS = 'hopeless'


@dataclasses.dataclass(frozen=True)
class Decision:
    """One action, its reason, and the numbers behind it."""

    action: str
    cause: str
    #: A sentence for logs and notifications.
    reason: str
    #: For :data:`SET_DOWNTIME`: the new max downtime, ms.
    downtime_ms: ty.Optional[int] = None
    #: Estimates the decision rests on, e.g. ``{'bandwidth_bps': ...}``.
    numbers: ty.Mapping[str, float] = dataclasses.field(
        default_factory=dict)

    def to_dict(self):
        """Return the decision as JSON-ready plain data."""
        return {'action': self.action, 'cause': self.cause,
                'reason': self.reason, 'downtime_ms': self.downtime_ms,
                'numbers': dict(self.numbers)}


@dataclasses.dataclass(frozen=True)
class Limits:
    """The SLA of one migration, as a controller needs it."""

    #: The effective max downtime, ms (within QEMU's ceiling).
    max_downtime_ms: int
    #: Seconds after which the timeout action runs; 0: never.
    timeout_s: int
    #: ``abort`` or ``force_complete``.
    timeout_action: str
    #: Whether the job was started with post-copy armed.
    post_copy: bool = False
    #: Whether the job was started with auto-converge.
    auto_converge: bool = False
    #: The downtime to start with, ms.
    initial_downtime_ms: ty.Optional[int] = None

    @classmethod
    def from_plan(cls, plan, post_copy=None, auto_converge=None):
        """Return the limits of a ``MigrationPlan``.

        :param plan: a ``migration_policy.MigrationPlan``.
        :param post_copy: whether post-copy is armed on the job; None: the
            plan's (``[libvirt] live_migration_permit_post_copy``).
        :param auto_converge: whether the job throttles the guest; None:
            the plan's per-instance choice (unset counts as no).
        """
        return cls(max_downtime_ms=plan.max_downtime_ms,
                   timeout_s=plan.timeout_s,
                   timeout_action=plan.timeout_action,
                   post_copy=plan.post_copy if post_copy is None
                   else post_copy,
                   auto_converge=bool(plan.auto_converge)
                   if auto_converge is None else auto_converge,
                   initial_downtime_ms=plan.steps[0][1])

    def timed_out(self, elapsed_s):
        """Whether ``elapsed_s`` is past the timeout (never when 0)."""
        return bool(self.timeout_s) and elapsed_s > self.timeout_s

    def time_left_s(self, elapsed_s):
        """Seconds until the timeout; None when there is none."""
        if not self.timeout_s:
            return None
        return max(0.0, self.timeout_s - elapsed_s)
