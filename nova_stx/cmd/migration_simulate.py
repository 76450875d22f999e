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

"""``nova-stx migration-simulate``: how a migration would end, per
controller.

A thin adapter over
:func:`nova_stx.virt.libvirt.migration_forecast.forecast`: the seeded
pre-copy simulator driven by each controller's own decision code, on a
guest given by its RAM, dirty rate and link. The work is bounded (see
:mod:`~nova_stx.cmd.migration_workload`).
"""

from nova_stx.cmd import cli
from nova_stx.cmd import migration_plan
from nova_stx.cmd import migration_workload as workload
from nova_stx.cmd import names
from nova_stx import keys
from nova_stx.virt.libvirt import migration_policy

COLUMNS = ('controller', 'configured', 'outcome', 'time_s', 'downtime_ms',
           'downtime_limit_ms', 'passes', 'data_gib', 'max_downtime_ms',
           'timeout_s', 'ended_by', 'reason')
#: The options that set a flavor key, and the key.
KEY_OPTIONS = {'max_downtime': keys.LIVE_MIGRATION_MAX_DOWNTIME,
               'timeout': keys.LIVE_MIGRATION_TIMEOUT}


def row_values(row):
    """Return one forecast row as the values of :data:`COLUMNS`."""
    return tuple(workload.OptionalColumn(row[c]) if c in (
        'downtime_ms', 'ended_by') else row[c] for c in COLUMNS)


def _controllers(chosen):
    for name in chosen:
        if name not in migration_policy.CONTROLLERS:
            raise cli.UsageError(
                f"--controller {name!r} is not a controller; "
                f"{names.closest_hint(name, migration_policy.CONTROLLERS)}")
    return tuple(dict.fromkeys(chosen)) or migration_policy.CONTROLLERS


def _key_options(args, flavor):
    for option, key in KEY_OPTIONS.items():
        text = getattr(args, option)
        if text is None:
            continue
        flag = '--' + option.replace('_', '-')
        if key.flavor in flavor:
            raise cli.UsageError(f'{flag} and --flavor-property '
                                 f'{key.flavor} both set it; give one')
        try:
            key.parse(text)
        except keys.InvalidValue as exc:
            raise cli.UsageError(f"{flag} {exc.rule} ({key.unit}, as "
                                 f"{key.flavor}); got "
                                 f"'{keys.shown(text)}'")
        flavor[key.flavor] = text


class MigrationSimulate(cli.Lister):
    """Simulate a live migration under each controller.

    The predicted outcome (completed, post_copy, paused, aborted, or
    running: nothing ended it within 48 h), time to it, guest pause,
    passes and data sent, from a seeded simulator of QEMU 7.2 pre-copy
    run by each controller's own decision code, within the limits the
    properties and nova.conf give. configured marks [nova_stx]
    live_migration_controller.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--ram', type=workload.RAM, required=True, metavar='SIZE',
            help='Guest RAM, e.g. 64GiB, 4096MiB.')
        workload.add_options(parser)
        parser.add_argument(
            '--max-downtime', metavar='MS',
            help=f'Max downtime, ms, as the flavor key '
                 f'{keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor} sets it.')
        parser.add_argument(
            '--timeout', metavar='S',
            help=f'Timeout, s (0: none), as the flavor key '
                 f'{keys.LIVE_MIGRATION_TIMEOUT.flavor} sets it.')
        parser.add_argument(
            '--controller', action='append', default=[],
            metavar='NAME',
            help='A controller to simulate: ' +
                 ', '.join(migration_policy.CONTROLLERS) +
                 ' (repeatable; default all).')
        cli.add_property_options(parser)
        migration_plan.add_config_file_option(parser)
        return parser

    def take_action(self, args):
        chosen = _controllers(args.controller)
        props = cli.properties_from_args(args)
        _key_options(args, props[keys.Source.FLAVOR])
        workload.from_args(args, args.ram, '--ram')
        settings = migration_plan.load_settings(args.config_file)
        plan = migration_plan.build_plan(
            props[keys.Source.FLAVOR], props[keys.Source.IMAGE],
            props[keys.Source.INSTANCE], args.ram / workload.MIB,
            settings=settings)
        for warning in plan.warnings:
            self.app.stderr.write(f'{cli.NAME} {self.cmd_name}: warning: '
                                  f'{warning}\n')
        rows = workload.forecast(args, args.ram, '--ram', props, settings,
                                 chosen)
        for row in rows:
            row['configured'] = row['controller'] == settings.controller
        return COLUMNS, [row_values(row) for row in rows]
