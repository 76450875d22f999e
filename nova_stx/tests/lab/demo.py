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

"""The demo's real live migration, when this machine can run one.

:func:`run_real_migration` sets the two-host lab up, starts a guest that
keeps rewriting memory, and migrates it under a plan whose maximum
downtime comes from the instance's metadata, throttled with
``migrateSetMaxSpeed``; it prints what libvirt reported. Without root or
the prerequisites it prints why it is skipped.
"""

import sys
import time
import warnings

from nova_stx.tests.lab import preflight

GUEST_NAME = 'demo-guest'
FILL_MIB = 40
DIRTY_MIB = 4
BANDWIDTH_MIB = 10
MAX_DOWNTIME_MS = '800'
MIB = 1024 * 1024


def _collapse(readings):
    """Return ``[(first elapsed, ms)]`` for each run of equal values."""
    runs = []
    for elapsed, ms in readings:
        if not runs or runs[-1][1] != ms:
            runs.append((elapsed, ms))
    return runs


def describe(plan, outcome):
    """Return the report lines of one lab migration.

    :param plan: the ``MigrationPlan`` the migration ran under.
    :param outcome: its :class:`~nova_stx.tests.lab.outcome.Outcome`.
    :returns: a list of lines.
    """
    sources = plan.sources
    lines = [
        f'  plan: max downtime {plan.max_downtime_ms} ms (from '
        f"{sources.get('max_downtime_ms')}), timeout {plan.timeout_s} s "
        f"(from {sources.get('timeout_s')}), on timeout "
        f'{plan.timeout_action}',
        f'  throttle: libvirt reports {outcome.bandwidth_read} MiB/s',
    ]
    readings = ', '.join(f'{ms} ms from {elapsed:.1f} s'
                         for elapsed, ms in _collapse(outcome.downtimes_read))
    lines.append('  max downtime read back during the job: ' +
                 (readings or 'none'))
    for error in outcome.read_errors:
        lines.append(f'  read-back error: {error}')
    result = 'completed' if outcome.migrated else (
        f'not completed ({outcome.error})')
    lines.append(f'  result: {result} after {outcome.wall_s:.1f} s; guest '
                 f'on the {outcome.where} (host A: {outcome.source_state}, '
                 f'host B: {outcome.dest_state})')
    stats = outcome.job_stats
    if stats.get('downtime') is not None:
        lines.append(
            f"  destination job stats: downtime {stats['downtime']} ms, "
            f"{stats.get('memory_processed', 0) / MIB:.1f} MiB copied in "
            f"{stats.get('memory_iteration', 0)} iterations, "
            f"{stats.get('time_elapsed', 0) / 1000:.1f} s")
    return lines


def run_real_migration(out=None):
    """Run one real throttled live migration and print what happened.

    :param out: a text stream; standard output by default.
    :returns: True when the migration completed under the plan, False
        when it did not, None when skipped.
    """
    out = out or sys.stdout
    out.write('Real libvirt live migration (two libvirtd hosts on this '
              'machine, QEMU TCG guest):\n')
    reason = preflight.why_not()
    if reason:
        out.write(f'  skipped: {reason}.\n')
        return None
    # NOTE(nova-stx): Nova's imports probe for eventlet and warn that it
    # is deprecated; the lab uses native threads, so that is noise here.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    from nova_stx import keys
    from nova_stx.tests.lab import guest
    from nova_stx.tests.lab import migration
    from nova_stx.tests.lab import outcome as lab_outcome
    from nova_stx.tests.lab import two_hosts
    from nova_stx.virt.libvirt import migration_policy

    started = time.monotonic()
    lab = two_hosts.TwoHostLab()
    try:
        lab.setUp()
    except Exception as exc:
        out.write(f'  failed to set the lab up: {exc}\n')
        return False
    try:
        out.write(f'  lab: {lab.mode} mode, ready in '
                  f'{time.monotonic() - started:.1f} s\n')
        kernel = guest.build_kernel(lab.root)
        conn, _dom = guest.start(lab.a, kernel, GUEST_NAME, FILL_MIB,
                                 DIRTY_MIB)
        conn.close()
        out.write(f'  guest: {guest.MEMORY_MIB} MiB, {FILL_MIB} MiB '
                  f'written at boot, {DIRTY_MIB} MiB rewritten for ever\n')
        # NOTE(nova-stx): the flavor's timeout 0 puts every ramp point at
        # 0 s (StarlingX), so the instance's maximum applies at once.
        plan = migration_policy.plan(
            {keys.LIVE_MIGRATION_TIMEOUT.flavor: '0'}, {},
            {keys.LIVE_MIGRATION_MAX_DOWNTIME.instance: MAX_DOWNTIME_MS},
            migration_policy.data_gb(guest.MEMORY_MIB),
            migration_policy.Settings())
        out.write(f'  instance metadata: '
                  f'{keys.LIVE_MIGRATION_MAX_DOWNTIME.instance}='
                  f'{MAX_DOWNTIME_MS}; flavor: '
                  f'{keys.LIVE_MIGRATION_TIMEOUT.flavor}=0; migrating at '
                  f'{BANDWIDTH_MIB} MiB/s\n')
        outcome = migration.Run(lab, GUEST_NAME, plan, BANDWIDTH_MIB).run()
        for line in describe(plan, outcome):
            out.write(line + '\n')
        return outcome.migrated and outcome.where == lab_outcome.DESTINATION
    except Exception as exc:
        out.write(f'  failed: {exc}\n')
        return False
    finally:
        lab.cleanUp()
