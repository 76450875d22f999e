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

"""The ``nova`` and ``starlingx`` controllers: a fixed ramp and a timeout.

:class:`RampController` follows a
:class:`~nova_stx.virt.libvirt.migration_policy.MigrationPlan` blindly, as
Nova's and StarlingX's monitors do: each ramp step once the elapsed time
is past its start, the timeout action once past the timeout, nothing in
post-copy. Pure decision code; see :mod:`~nova_stx.virt.libvirt.decisions`
for the interface.
"""

import math

from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import migration_policy


class RampController:
    """Ramp steps and the timeout action of one plan.

    :param plan: a ``MigrationPlan``.
    :param set_initial: whether to set the first step before the transfer
        starts (nova-stx does; Nova itself waits for its first poll).
    """

    name = 'ramp'

    def __init__(self, plan, set_initial=True):
        self.plan = plan
        self.limits = decisions.Limits.from_plan(plan)
        self.initial_downtime_ms = plan.steps[0][1] if set_initial else None
        #: The last step decided; the first poll applies the first step
        #: again, as Nova's monitor does.
        self.downtime_ms = None
        self.timed_out = False

    def observe(self, sample):
        """Return the decisions due at ``sample.elapsed_s``."""
        if sample.post_copy:
            return ()
        found = []
        elapsed = sample.elapsed_s
        ms = self.plan.downtime_at(elapsed)
        if ms is not None and ms != self.downtime_ms:
            self.downtime_ms = ms
            found.append(decisions.Decision(
                decisions.SET_DOWNTIME, decisions.RAMP,
                f'Increasing downtime to {ms} ms after {int(elapsed)} sec '
                f'elapsed time (maximum {self.plan.max_downtime_ms} ms).',
                downtime_ms=ms,
                numbers={'elapsed_s': elapsed,
                         'max_downtime_ms': self.plan.max_downtime_ms}))
        if not self.timed_out and self.limits.timed_out(elapsed):
            self.timed_out = True
            action = (decisions.FORCE_COMPLETE
                      if self.plan.timeout_action ==
                      migration_policy.FORCE_COMPLETE else decisions.ABORT)
            found.append(decisions.Decision(
                action, decisions.TIMEOUT,
                f'Live migration timeout after {self.plan.timeout_s} sec.',
                numbers={'elapsed_s': elapsed,
                         'timeout_s': self.plan.timeout_s}))
        return tuple(found)

    def next_poll_s(self, elapsed_s):
        """Return the time after which a poll may decide something.

        A poll at an elapsed time strictly greater than the answer may
        decide; polls up to it cannot. ``math.inf``: nothing is left.
        """
        timeout = 0 if self.timed_out else self.limits.timeout_s
        if (self.plan.downtime_at(elapsed_s + 1e-6) not in (
                None, self.downtime_ms) or
                (timeout and elapsed_s + 1e-6 > timeout)):
            return elapsed_s
        due = [start for start, _ in self.plan.steps if start >= elapsed_s]
        if timeout:
            due.append(timeout)
        return min(due, default=math.inf)
