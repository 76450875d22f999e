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

"""Live-migration controllers on the same simulated migrations.

``python benchmarks/migration_sim_bench.py [--cases N] [--seed S]``

Seeded cases (RAM 1-64 GiB, dirty rate 0-2x the link, a hot working set,
1/10/25 GbE, bandwidth jitter, switch-over overhead, auto-converge on a
fifth of them, an SLA per case: max downtime and timeout from keys on half
of them, Nova's defaults on the rest) run through
:mod:`nova_stx.virt.libvirt.precopy_sim` under each policy:

* ``nova``: stock Nova 34 (its own ramp and per-GiB timeout; it ignores
  the per-instance keys);
* ``starlingx``: nova-stx's ``starlingx`` controller (StarlingX's ramp
  over the instance's limits);
* ``ovirt``, ``kubevirt``: oVirt "Minimal downtime", a KubeVirt VEP 248
  stall detector (``migration_anchors``), within the same SLA;
* ``sla``: nova-stx's ``sla`` controller.

The oracle: with hindsight of the workload (no noise) and the overhead,
a fixed target of max - overhead from the start; a migration it
completes within the timeout and the max downtime "could complete". A
false abort is a migration that did not complete although the oracle
could.
"""

import argparse
import math
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import migration_anchors  # noqa: E402

from nova_stx.virt.libvirt import decisions  # noqa: E402
from nova_stx.virt.libvirt import migration_policy as mp  # noqa: E402
from nova_stx.virt.libvirt import precopy_sim as sim  # noqa: E402
from nova_stx.virt.libvirt import ramp_controller  # noqa: E402
from nova_stx.virt.libvirt import sla_controller  # noqa: E402

GIB = sim.GIB
#: Effective bandwidth of the link, bytes/s (94 % of line rate).
LINKS = {'1GbE': 0.94e9 / 8, '10GbE': 9.4e9 / 8, '25GbE': 23.5e9 / 8}
DOWNTIME_KEYS = (100, 200, 300, 500, 1000, 2000)
TIMEOUT_KEYS = (180, 300, 600, 800)
POLICIES = ('nova', 'starlingx', 'ovirt', 'kubevirt', 'sla')


def make_cases(count, seed):
    """Return ``count`` cases: ``(workload, flavor extra specs, GiB)``."""
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        ram_gib = round(math.exp(rng.uniform(0, math.log(64))) * 4) / 4
        link = rng.choice(sorted(LINKS))
        bandwidth = LINKS[link]
        hot = ram_gib * GIB * math.exp(rng.uniform(math.log(0.005),
                                                   math.log(0.5)))
        workload = sim.Workload(
            ram_bytes=int(ram_gib * GIB), hot_bytes=int(hot),
            dirty_bps=rng.uniform(0, 2) * bandwidth, link_bps=bandwidth,
            jitter=rng.uniform(0.01, 0.08),
            overhead_ms=rng.uniform(5, 30),
            auto_converge=rng.random() < 0.2, seed=seed * 100003 + i)
        specs = {}
        if rng.random() < 0.5:
            specs['hw:wrs:live_migration_max_downtime'] = str(
                rng.choice(DOWNTIME_KEYS))
            specs['hw:wrs:live_migration_timeout'] = str(
                rng.choice(TIMEOUT_KEYS))
        cases.append((workload, specs, link))
    return cases


def _plan(workload, specs, **settings):
    gib = mp.data_gb(workload.ram_bytes / (1 << 20))
    return mp.plan(specs, {}, {}, gib, mp.Settings(**settings))


def controllers(workload, specs):
    """Return ``{policy: (controller, poll_s)}`` for one case."""
    nova_plan = _plan(workload, {}, ramp='nova')
    keyed = _plan(workload, specs)
    limits = decisions.Limits.from_plan(
        keyed, post_copy=False, auto_converge=workload.auto_converge)
    return {
        'nova': (ramp_controller.RampController(nova_plan,
                                                set_initial=False), 0.5),
        'starlingx': (ramp_controller.RampController(keyed), 0.5),
        'ovirt': (migration_anchors.OvirtMinimalDowntime(limits), 10.0),
        'kubevirt': (migration_anchors.KubevirtStallDetector(limits), 0.4),
        'sla': (sla_controller.SlaController(limits), 0.5),
    }


def oracle(workload, limits):
    """Whether hindsight can complete it within the SLA and timeout."""
    quiet = sim.Workload(**{**workload.__dict__, 'jitter': 0.0})
    target = limits.max_downtime_ms - workload.overhead_ms
    if target <= 0:
        return False
    result = sim.run(quiet, migration_anchors.FixedTarget(limits, target))
    return (result.completed and result.downtime_ms <=
            limits.max_downtime_ms and
            (not limits.timeout_s or result.elapsed_s <= limits.timeout_s))


def _percentile(values, share):
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(cases):
    rows = {p: [] for p in POLICIES}
    for workload, specs, link in cases:
        keyed = _plan(workload, specs)
        limits = decisions.Limits.from_plan(keyed, post_copy=False)
        can = oracle(workload, limits)
        for policy, (controller, poll_s) in controllers(workload,
                                                        specs).items():
            result = sim.run(workload, controller, poll_s=poll_s)
            first = second_sync_s = None
            if policy == 'sla':
                second_sync_s = controller.estimator.first_dirty_s
                if controller.predictions:
                    first = controller.predictions[0]
            rows[policy].append((workload, limits, can, result, first,
                                 second_sync_s))
    return rows


def summarise(rows):
    table = {}
    for policy, entries in rows.items():
        violations = sum(1 for w, lim, can, r, *_ in entries
                         if r.completed and r.downtime_ms >
                         lim.max_downtime_ms)
        done = sum(1 for e in entries if e[3].completed)
        within = sum(1 for w, lim, can, r, *_ in entries
                     if r.completed and r.downtime_ms <=
                     lim.max_downtime_ms and
                     (not lim.timeout_s or r.elapsed_s <= lim.timeout_s))
        false_aborts = sum(1 for w, lim, can, r, *_ in entries
                           if can and not r.completed)
        times = [e[3].elapsed_s for e in entries]
        wasted = sum(e[3].data_bytes for e in entries
                     if not e[3].completed)
        errors, left = [], []
        for w, lim, can, r, first, _ in entries:
            if first and r.completed and first['outcome'] == 'complete':
                errors.append((first['end_s'] - r.elapsed_s) / r.elapsed_s)
                left.append(abs(first['end_s'] - r.elapsed_s))
        table[policy] = {
            'violations': violations, 'completion': done / len(entries),
            'within_sla': within / len(entries),
            'false_aborts': false_aborts,
            'median_s': statistics.median(times),
            'p95_s': _percentile(times, 0.95),
            'wasted_tib': wasted / (1 << 40),
            'pred_median': (statistics.median(abs(e) for e in errors)
                            if errors else None),
            'pred_within_20': (sum(1 for e in errors if abs(e) <= 0.2) /
                               len(errors) if errors else None),
            'pred_left_s': statistics.median(left) if left else None,
            'pred_left_p95_s': _percentile(left, 0.95),
            'predicted': len(errors),
        }
    return table


def goals(rows):
    """Numbers for the issue's goals, for ``sla`` against ``nova``."""
    sla, nova = rows['sla'], rows['nova']
    hopeless = [e[3] for e in sla if not e[2]]
    after_bulk = []
    by_link = {name: [] for name in LINKS}
    for e in sla:
        # NOTE(nova-stx): from the second bitmap sync, when the bulk copy
        # ended and QEMU first reports a dirty set: nothing about
        # convergence is known before it.
        if not e[2] and e[5] is not None:
            after_bulk.append(e[3].elapsed_s - e[5])
            link = next(n for n, b in LINKS.items()
                        if b == e[0].link_bps)
            by_link[link].append(e[3].elapsed_s - e[5])
    ratios = [s[3].elapsed_s / n[3].elapsed_s for s, n in zip(sla, nova)
              if s[2] and s[3].completed and n[3].completed]
    slow = [s[3].elapsed_s / n[3].elapsed_s for s, n in zip(sla, nova)
            if s[2] and s[3].completed and n[3].completed and
            len(n[3].decisions) > 1]
    return {
        'hopeless': len(hopeless),
        'hopeless_past_first_pass': len(after_bulk),
        'hopeless_p95_s': _percentile([r.elapsed_s for r in hopeless],
                                      0.95),
        'hopeless_max_s': max((r.elapsed_s for r in hopeless), default=0),
        'hopeless_after_first_pass_p95_s': _percentile(after_bulk, 0.95),
        'hopeless_after_first_pass_max_s': max(after_bulk, default=0),
        'hopeless_after_first_pass_by_link': {
            name: (len(v), _percentile(v, 0.5), _percentile(v, 0.95))
            for name, v in sorted(by_link.items())},
        'convergeable': len(ratios),
        'ratio_median': statistics.median(ratios) if ratios else None,
        'ratio_p95': _percentile(ratios, 0.95),
        'ramped': len(slow),
        'ramped_ratio_median': statistics.median(slow) if slow else None,
        'ramped_ratio_p95': _percentile(slow, 0.95),
    }


def _fmt(value, pattern):
    return '-' if value is None else pattern % value


def render(table, extra, count, seed, seconds):
    lines = [
        f'{count} seeded migrations (seed {seed}), every policy on the '
        f'same cases, {seconds:.1f} s.',
        '',
        '| policy | SLA violations | completed | completed within SLA | '
        'false aborts | median s | p95 s | wasted on aborts TiB | '
        'prediction error at first decision |',
        '|---|---|---|---|---|---|---|---|---|']
    for policy in POLICIES:
        t = table[policy]
        pred = '-'
        if t['pred_median'] is not None:
            pred = (f"median {t['pred_median'] * 100:.1f} %, "
                    f"{t['pred_within_20'] * 100:.1f} % within 20 % "
                    f"(median {t['pred_left_s']:.2f} s off, p95 "
                    f"{t['pred_left_p95_s']:.1f} s)")
        lines.append(
            f"| {policy} | {t['violations']} | {t['completion'] * 100:.1f} %"
            f" | {t['within_sla'] * 100:.1f} % | {t['false_aborts']} | "
            f"{t['median_s']:.1f} | "
            f"{t['p95_s']:.0f} | {t['wasted_tib']:.1f} | {pred} |")
    lines += [
        '',
        f"Hopeless (the oracle cannot complete): {extra['hopeless']}; "
        f"sla ends them at p95 {extra['hopeless_p95_s']:.0f} s, max "
        f"{extra['hopeless_max_s']:.0f} s; the "
        f"{extra['hopeless_past_first_pass']} that finish their first pass "
        f"end after it at p95 "
        f"{extra['hopeless_after_first_pass_p95_s']:.1f} s, max "
        f"{extra['hopeless_after_first_pass_max_s']:.1f} s; by link "
        f"(count, median, p95 s): " + ', '.join(
            f'{name} {n}, {med:.1f}, {p95:.1f}' for name, (n, med, p95) in
            extra['hopeless_after_first_pass_by_link'].items()) + '.',
        f"Convergeable and completed by both: {extra['convergeable']}; "
        f"sla / nova time: median "
        f"{_fmt(extra['ratio_median'], '%.3f')}, p95 "
        f"{_fmt(extra['ratio_p95'], '%.3f')}; where Nova needed more than "
        f"its first ramp step ({extra['ramped']}): median "
        f"{_fmt(extra['ramped_ratio_median'], '%.4f')}, p95 "
        f"{_fmt(extra['ramped_ratio_p95'], '%.4f')}."]
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--cases', type=int, default=1000)
    parser.add_argument('--seed', type=int, default=1)
    args = parser.parse_args(argv)
    started = time.monotonic()
    cases = make_cases(args.cases, args.seed)
    rows = run(cases)
    print(render(summarise(rows), goals(rows), args.cases, args.seed,
                 time.monotonic() - started))


if __name__ == '__main__':
    main()
