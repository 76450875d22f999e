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

"""What a finished migration did against its SLA, as plain data.

:func:`completed` compares the real downtime libvirt measured with the
effective max downtime (QEMU's max downtime is a target, so the real one
can be longer); :func:`aborted` says what an early end saved against
waiting for the timeout.
"""


def completed(completion, max_downtime_ms, target_ms, elapsed_s):
    """Return the evidence of a completed migration.

    :param completion: a ``job_stats.Completion`` (fields may be None).
    :param max_downtime_ms: the effective max downtime.
    :param target_ms: the last max downtime set on the job, or None.
    :param elapsed_s: seconds the monitor saw the migration run.
    :returns: ``{'downtime_ms', 'downtime_source', 'max_downtime_ms',
        'target_ms', 'elapsed_s', 'job_time_ms', 'data_bytes', 'passes',
        'breach'}``; ``downtime_ms``, ``downtime_source`` and ``breach``
        are None when libvirt reported no downtime (unknown, not kept).
    """
    downtime = completion.downtime_ms
    return {
        'downtime_ms': downtime,
        'downtime_source': completion.source,
        'max_downtime_ms': max_downtime_ms,
        'target_ms': target_ms,
        'elapsed_s': round(elapsed_s, 3),
        'job_time_ms': completion.time_elapsed_ms,
        'data_bytes': completion.data_processed,
        'passes': completion.iterations,
        'breach': None if downtime is None else downtime > max_downtime_ms,
    }


def aborted(decision, elapsed_s):
    """Return what an early end saved, or {} when it was not early.

    :param decision: the ``Decision`` that ended the migration, or None.
    :param elapsed_s: seconds the migration ran.
    :returns: ``{'time_saved_s', 'bytes_saved', 'cause'}`` or ``{}``.
    """
    if decision is None or 'time_saved_s' not in decision.numbers:
        return {}
    return {'cause': decision.cause,
            'time_saved_s': decision.numbers['time_saved_s'],
            'bytes_saved': decision.numbers.get('bytes_saved'),
            'elapsed_s': round(elapsed_s, 3)}
