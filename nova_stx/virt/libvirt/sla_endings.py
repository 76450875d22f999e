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

"""How the ``sla`` controller ends a migration, as plain decisions.

:func:`timeout` is the action at the timeout; :func:`hopeless` ends a
migration that cannot meet its SLA early (post-copy or abort) or leaves
it to the timeout. Both only build
:class:`~nova_stx.virt.libvirt.decisions.Decision` tuples; the state
they end is
:class:`~nova_stx.virt.libvirt.sla_controller.SlaController`'s.
"""

from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import migration_policy

#: A bandwidth sample below this share of the average is a collapse.
COLLAPSE = 0.5


def timeout(limits, sample):
    """Return the decisions at the timeout: its action, as ``nova``'s.

    :param limits: the migration's
        :class:`~nova_stx.virt.libvirt.decisions.Limits`.
    :param sample: the poll that found the timeout passed.
    """
    action = (decisions.FORCE_COMPLETE
              if limits.timeout_action ==
              migration_policy.FORCE_COMPLETE else decisions.ABORT)
    return (decisions.Decision(
        action, decisions.TIMEOUT,
        f'Live migration timeout after {limits.timeout_s} sec.',
        numbers={'elapsed_s': sample.elapsed_s,
                 'timeout_s': limits.timeout_s}),)


def hopeless(limits, sample, bandwidth, rate, why, numbers):
    """End a migration that cannot meet its SLA, or wait for timeout.

    :param limits: the migration's
        :class:`~nova_stx.virt.libvirt.decisions.Limits`.
    :param sample: the newest job sample.
    :param bandwidth: the average bandwidth, bytes/s.
    :param rate: the last bandwidth sample, bytes/s, or None.
    :param why: the reason, a sentence.
    :param numbers: the decision's numbers, ``post_copy_s`` included;
        an abort adds what it saves.
    :returns: ``(decisions, outcome, end_s)``: no decisions when the
        migration waits for the timeout; the outcome and predicted end
        as the controller records them.
    """
    copy_s = sample.memory_remaining / bandwidth
    time_left = limits.time_left_s(sample.elapsed_s)
    collapsed = rate is not None and rate < COLLAPSE * bandwidth
    if limits.timeout_action == migration_policy.FORCE_COMPLETE:
        if (limits.post_copy and not collapsed and
                (time_left is None or copy_s <= time_left)):
            return ((decisions.Decision(
                decisions.POST_COPY, decisions.HOPELESS,
                f'{why} Switching to post-copy: about {copy_s:.1f} s '
                f'to copy.', numbers=numbers),),
                'complete', sample.elapsed_s + copy_s)
        return (), 'timeout', limits.timeout_s
    if time_left is not None:
        numbers['time_saved_s'] = round(time_left, 3)
        numbers['bytes_saved'] = round(time_left * bandwidth)
    return ((decisions.Decision(
        decisions.ABORT, decisions.HOPELESS,
        f'{why} Aborting now instead of at the timeout.',
        numbers=numbers),), 'abort', sample.elapsed_s)
