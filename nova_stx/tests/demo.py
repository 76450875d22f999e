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

"""A tour of nova-stx on embedded sample data: ``tox -e demo``.

Each section uses the same code paths operators and Nova use; nothing here
is special-cased for the demo.
"""

import json
import sys

from nova_stx.cmd import migration_plan
from nova_stx.cmd import validate
from nova_stx import keys
from nova_stx.tests.lab import demo as lab_demo
from nova_stx import metadefs
from nova_stx.explain import report
from nova_stx.virt.libvirt import downtime_ramp
from nova_stx.virt.libvirt import migration_policy

#: Sample flavors and images a tenant or operator might submit.
SAMPLES = (
    ('NFV flavor with a 500 ms pause limit and a 180 s timeout', {
        keys.Source.FLAVOR: {
            keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor: '500',
            keys.LIVE_MIGRATION_TIMEOUT.flavor: '180',
            keys.CPU_MODEL.flavor: 'Skylake-Server-IBRS',
            'hw:cpu_policy': 'dedicated',
            'hw:mem_page_size': 'large'}}),
    ('Image asking for a longer timeout and auto recovery', {
        keys.Source.IMAGE: {
            keys.LIVE_MIGRATION_TIMEOUT.image: '600',
            keys.AUTO_RECOVERY_ENABLED.image: 'true'}}),
    ('Flavor with a timeout out of range (rejected)', {
        keys.Source.FLAVOR: {keys.LIVE_MIGRATION_TIMEOUT.flavor: '801'}}),
    ('Instance metadata with a junk downtime (rejected)', {
        keys.Source.INSTANCE: {
            keys.LIVE_MIGRATION_MAX_DOWNTIME.instance: '50ms'}}),
    ('Image overriding the flavor vCPU model (rejected)', {
        keys.Source.FLAVOR: {keys.CPU_MODEL.flavor: 'Haswell'},
        keys.Source.IMAGE: {keys.CPU_MODEL.image: 'Broadwell'}}),
)


def heading(out, text):
    out.write(f'\n== {text} ==\n\n')


def show_validation(out):
    heading(out, 'Validating sample flavors, images and instance metadata')
    for title, properties in SAMPLES:
        out.write(f'{title}\n')
        for source, name, value, error in validate.check(properties):
            verdict = f'REJECTED  {error}' if error else 'accepted'
            out.write(f'  {source:<8} {name}={value}: {verdict}\n')
        out.write('\n')


def show_metadefs(out):
    heading(out, 'Glance metadefs (load with: glance-manage db '
                 'load_metadefs --path ' + metadefs.DIRECTORY + ')')
    for name, doc in metadefs.build().items():
        targets = ', '.join(f"{a['name']} ({a['prefix']})"
                            for a in doc['resource_type_associations'])
        out.write(f"{doc['namespace']}  [{name}]\n  applies to: "
                  f"{targets}\n")
        for prop_id, prop in doc['properties'].items():
            rules = {k: v for k, v in prop.items()
                     if k in ('type', 'minimum', 'maximum', 'default')}
            out.write(f'  - {prop_id}: {json.dumps(rules)}\n')
        out.write('\n')


def show_migration_plans(out):
    heading(out, 'Live-migration plans (nova-stx migration-plan)')
    out.write('StarlingX flavor: 180 s timeout, 500 ms max downtime, '
              'default ramp\n')
    plan = migration_plan.build_plan(flavor={
        keys.LIVE_MIGRATION_TIMEOUT.flavor: '180',
        keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor: '500'})
    out.write(migration_plan.render_text(plan) + '\n\n')
    out.write('The image asks for 150 s and the instance metadata for '
              'tunnelling; the smallest timeout wins\n')
    plan = migration_plan.build_plan(
        flavor={keys.LIVE_MIGRATION_TIMEOUT.flavor: '180'},
        image={keys.LIVE_MIGRATION_TIMEOUT.image: '150'},
        instance={keys.LIVE_MIGRATION_TUNNEL.instance: 'true'})
    out.write(migration_plan.render_text(plan) + '\n\n')
    out.write("Nova Liberty's exponential ramp: [libvirt] downtime 400, "
              '10 steps, 30 s delay, 3 GiB guest\n')
    settings = migration_policy.Settings(
        downtime_ms=400, downtime_steps=10, downtime_delay_s=30,
        ramp=downtime_ramp.EXPONENTIAL)
    plan = migration_plan.build_plan(ram_mb=3072, settings=settings)
    out.write(migration_plan.render_text(plan) + '\n')


def show_scheduling(out):
    heading(out, 'Scheduling on the sample fleet (nova-stx explain)')
    report.demo(out=out)


def show_real_migration(out):
    heading(out, 'A real QEMU live migration between two local libvirt '
                 'daemons')
    lab_demo.run_real_migration(out=out)


SECTIONS = (show_validation, show_metadefs, show_scheduling,
            show_migration_plans, show_real_migration)


def main(out=sys.stdout):
    out.write('nova-stx demo: NFV placement and live-migration limits for '
              'stock Nova\n')
    for section in SECTIONS:
        section(out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
