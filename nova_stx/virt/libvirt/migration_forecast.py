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

"""The operator's view: what a controller would do, and a forecast.

:func:`describe` says in plain data what the plan's controller does with
a migration; :func:`forecast` runs the simulator
(:mod:`~nova_stx.virt.libvirt.precopy_sim`) with each controller's very
decision code on a guest described by its RAM, dirty rate and link speed,
so an operator can see why a 64 GiB guest dirtying 1 GB/s on 10 GbE will
or will not move. Pure functions; the CLI renders their output.
"""

import dataclasses
import math

from nova_stx.virt.libvirt import controllers
from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import downtime_ramp
from nova_stx.virt.libvirt import migration_policy
from nova_stx.virt.libvirt import precopy_sim
from nova_stx.virt.libvirt import ramp_controller
from nova_stx.virt.libvirt import sla_timing

MIB = 1 << 20
#: The writable working set assumed when none is given: a quarter of RAM.
HOT_SHARE = 0.25
#: Share of the line rate a migration stream achieves.
LINK_EFFICIENCY = 0.94
#: Simulated time after which a migration is reported running: 30 days.
HORIZON_S = 30 * 24 * 3600.0

_ACTIONS = {
    migration_policy.NOVA: "Nova's own monitor: its ramp over "
                           '[libvirt] live_migration_downtime_steps steps, '
                           'live_migration_downtime_delay s per GiB apart; '
                           'the timeout action at its per-GiB timeout.',
    migration_policy.STARLINGX: 'A fixed ramp to the max downtime, then the '
                                'timeout action at the timeout.',
    migration_policy.SLA: 'Downtime raised in one step to what the next '
                          'switch-over needs, within the max downtime; an '
                          'early end when the max downtime cannot be met or '
                          'the prediction misses the timeout.',
}


def _positive(name, value):
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or
            not math.isfinite(value) or value <= 0):
        raise ValueError(f'{name} must be a finite number above 0, got '
                         f'{value!r}')
    return float(value)


def effective_plan(flavor, image, instance, gib, settings):
    """Return the plan as the migration runs it.

    Arguments as ``migration_policy.plan()``. A migration nova-stx does
    not supervise runs under Nova's own monitor: its ramp and its per-GiB
    timeout, whatever nova-stx's ramp option says.
    """
    plan = migration_policy.plan(flavor, image, instance, gib, settings)
    if plan.supervised:
        return plan
    nova = dataclasses.replace(settings, ramp=downtime_ramp.NOVA)
    return migration_policy.plan(flavor, image, instance, gib, nova)


def describe(plan):
    """Return what the plan's controller does with the migration.

    :param plan: a ``migration_policy.MigrationPlan``.
    :returns: ``{'controller', 'supervised', 'action', 'max_downtime_ms',
        'timeout_s', 'timeout_action', 'initial_downtime_ms', 'early_end',
        'steps'}``; ``steps`` only for the ramps, ``early_end`` is
        ``abort``, ``post_copy`` or None.
    """
    name = plan.controller if plan.supervised else migration_policy.NOVA
    if plan.controller == migration_policy.NOVA and plan.supervised:
        name = migration_policy.STARLINGX
    early = None
    if plan.controller == migration_policy.SLA:
        early = ('post_copy' if plan.timeout_action ==
                 migration_policy.FORCE_COMPLETE and plan.post_copy
                 else 'abort' if plan.timeout_action ==
                 migration_policy.ABORT else None)
    return {
        'controller': plan.controller,
        'supervised': plan.supervised,
        'action': _ACTIONS[name],
        'max_downtime_ms': plan.max_downtime_ms,
        'timeout_s': plan.timeout_s,
        'timeout_action': plan.timeout_action,
        'initial_downtime_ms': plan.steps[0][1],
        'early_end': early,
        'steps': ([list(s) for s in plan.steps]
                  if plan.controller != migration_policy.SLA else []),
    }


def _controller(plan):
    if not plan.supervised:
        # NOTE(nova-stx): Nova's own monitor (an effective_plan()): its
        # ramp, set from the first poll on.
        return ramp_controller.RampController(plan, set_initial=False)
    return controllers.build(plan)


def _row(name, plan, result, initial_ms):
    """Return one forecast row of a simulated ``result``."""
    made = [d for _, d in result.decisions]
    ending = next((d for d in reversed(made)
                   if d.action != decisions.SET_DOWNTIME), None)
    limit = next((d.downtime_ms for d in reversed(made)
                  if d.action == decisions.SET_DOWNTIME), initial_ms)
    return {
        'controller': name, 'supervised': plan.supervised,
        'max_downtime_ms': plan.max_downtime_ms,
        'timeout_s': plan.timeout_s, 'outcome': result.outcome,
        'time_s': round(result.elapsed_s, 1),
        'downtime_ms': (None if result.downtime_ms is None
                        else round(result.downtime_ms)),
        'downtime_limit_ms': limit,
        'data_gib': round(result.data_bytes / (1 << 30), 2),
        'passes': result.passes,
        'ended_by': ending.cause if ending else (
            'switch-over' if result.completed else None),
        'reason': (ending or made[-1]).reason if made else '',
    }


def forecast(ram_mb, dirty_mib_s, link_gbit, settings=None, flavor=None,
             image=None, instance=None, hot_mib=None, jitter=0.03, seed=0,
             names=migration_policy.CONTROLLERS, disk_gb=(),
             horizon_s=HORIZON_S):
    """Simulate the migration under each controller.

    :param ram_mb: guest RAM, MiB.
    :param dirty_mib_s: how fast the guest dirties distinct pages, MiB/s.
    :param link_gbit: migration link, Gbit/s (94 % of it is used).
    :param settings: a ``migration_policy.Settings``; None: defaults.
    :param flavor: flavor extra specs; ``image``, ``instance`` likewise.
    :param hot_mib: writable working set, MiB; None: a quarter of RAM.
    :param jitter: relative noise of QEMU's bandwidth windows.
    :param seed: the simulation's seed.
    :param names: the controllers to run.
    :param disk_gb: sizes of block-migrated disks, GiB: they scale Nova's
        per-GiB options; only the RAM copy is simulated.
    :param horizon_s: simulated seconds after which a migration nothing
        ended is reported ``running``.
    :returns: one dict per controller: ``{'controller', 'supervised',
        'max_downtime_ms', 'timeout_s', 'outcome', 'time_s',
        'downtime_ms', 'downtime_limit_ms', 'data_gib', 'passes',
        'ended_by', 'reason'}``; ``outcome`` is ``completed``,
        ``post_copy``, ``paused``, ``aborted`` or ``running`` (nothing
        ended it within ``horizon_s``); ``downtime_limit_ms`` is the max
        downtime QEMU had at the end; ``reason`` is the ending decision's,
        else the last decision's.
    :raises ValueError: for a size, rate or speed that is not a finite
        number above 0 (a dirty rate may be 0).
    """
    ram = _positive('the RAM', ram_mb)
    link = _positive('the link speed', link_gbit)
    dirty = 0.0 if dirty_mib_s == 0 else _positive('the dirty rate',
                                                   dirty_mib_s)
    hot = ram * HOT_SHARE if hot_mib is None else min(
        ram, _positive('the working set', hot_mib))
    base = settings or migration_policy.Settings()
    gib = migration_policy.data_gb(ram, disk_gb)
    rows = []
    for name in names:
        plan = effective_plan(
            flavor or {}, image or {}, instance or {}, gib,
            dataclasses.replace(base, controller=name))
        work = precopy_sim.Workload(
            ram_bytes=int(ram * MIB), hot_bytes=int(hot * MIB),
            dirty_bps=dirty * MIB, link_bps=link * 1e9 / 8 *
            LINK_EFFICIENCY, jitter=jitter,
            auto_converge=bool(plan.auto_converge),
            post_copy=plan.post_copy, seed=seed)
        controller = _controller(plan)
        initial = controller.initial_downtime_ms
        result = precopy_sim.run(work, controller, horizon_s=horizon_s)
        rows.append(_row(name, plan, result,
                         precopy_sim.QEMU_DEFAULT_DOWNTIME_MS
                         if initial is None else initial))
    return rows


#: What :func:`forecast` assumes about the switch-over, for the docs.
SWITCHOVER_MS = sla_timing.SWITCHOVER_MS
