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

"""What a lab migration did, and where the guest ended.

Plain data and a pure decision: :func:`where` tells from each host's view
of the guest whether it lives on the source, on the destination, on both
(split brain) or nowhere (lost).
"""

import dataclasses
import typing as ty

SOURCE = 'source'
DESTINATION = 'destination'
LOST = 'lost'
BOTH = 'both'
UNREACHABLE = 'unreachable'
ABSENT = 'absent'
STATE_NAMES = {0: 'no state', 1: 'running', 2: 'blocked', 3: 'paused',
               4: 'shutting down', 5: 'shut off', 6: 'crashed',
               7: 'suspended'}
LIVE_STATES = ('running', 'blocked', 'paused')


def where(source_state, dest_state):
    """Return where a migrated guest lives, from each host's view of it.

    :param source_state: the guest's state on the source (a value of
        :data:`STATE_NAMES`, :data:`ABSENT` or :data:`UNREACHABLE`).
    :param dest_state: the same on the destination.
    :returns: :data:`SOURCE`, :data:`DESTINATION`, :data:`BOTH` (split
        brain) or :data:`LOST` (running nowhere); a host that cannot be
        reached counts as not running the guest.
    """
    on_source = source_state in LIVE_STATES
    on_dest = dest_state in LIVE_STATES
    if on_source and on_dest:
        return BOTH
    if on_source:
        return SOURCE
    if on_dest:
        return DESTINATION
    return LOST


@dataclasses.dataclass
class Outcome:
    """What one supervised migration did, as libvirt reported it."""

    #: Whether the migration call returned without error.
    migrated: bool = False
    error: ty.Optional[str] = None
    error_code: ty.Optional[int] = None
    #: Why monitoring stopped early, if it did.
    monitor_error: ty.Optional[str] = None
    source_state: str = UNREACHABLE
    dest_state: str = UNREACHABLE
    #: Wall-clock seconds from the migration call to its return.
    wall_s: float = 0.0
    polls: int = 0
    #: ``[(policy elapsed s, ms)]`` the proxy set.
    downtimes_set: list = dataclasses.field(default_factory=list)
    #: ``[(policy elapsed s, ms)]`` read back with migrateGetMaxDowntime.
    downtimes_read: list = dataclasses.field(default_factory=list)
    #: Read-back failures (``None`` from migrateGetMaxDowntime included).
    read_errors: list = dataclasses.field(default_factory=list)
    #: MiB/s read back with migrateGetMaxSpeed during the job.
    bandwidth_read: ty.Optional[int] = None
    timeout_action: ty.Optional[str] = None
    #: ``[(policy elapsed s, Decision)]`` the controller made.
    decisions: list = dataclasses.field(default_factory=list)
    #: The destination's statistics of the completed job, if any.
    job_stats: dict = dataclasses.field(default_factory=dict)

    @property
    def where(self):
        return where(self.source_state, self.dest_state)
