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

"""``nova-stx migration-plan``: the limits a live migration would get.

Values are handled exactly as the driver handles them: one out of range
is clamped or ignored, with the warning the driver logs (instance
metadata is not validated by Nova's API, so such values do arrive).
Unknown or misspelt names are refused (exit 2), naming the closest
valid name. The plan says what the configured controller does with it
(:func:`~nova_stx.virt.libvirt.migration_forecast.describe`); with
``--link`` it adds that controller's simulated outcome
(:func:`~nova_stx.virt.libvirt.migration_forecast.forecast`).
"""

import os

from cliff import columns
from oslo_config import cfg

from nova_stx.cmd import cli
from nova_stx.cmd import inputs
from nova_stx.cmd import migration_workload as workload
from nova_stx.cmd import names
from nova_stx import conf as stx_conf
from nova_stx import keys
from nova_stx.virt.libvirt import migration_forecast
from nova_stx.virt.libvirt import migration_policy

#: The forecast's fields, shown as ``forecast_<name>``.
FORECAST_FIELDS = ('outcome', 'time_s', 'downtime_ms', 'downtime_limit_ms',
                   'passes', 'data_gib', 'ended_by', 'reason')


class StepsColumn(columns.FormattableColumn):
    """The downtime ramp: ``after S s: M ms`` lines, or ``[[S, M]]``."""

    def human_readable(self):
        return '\n'.join(f'after {s} s: {ms} ms' for s, ms in self._value)

    def machine_readable(self):
        return [list(step) for step in self._value]


def load_settings(config_file=None):
    """Return the policy settings from a nova.conf, or the defaults.

    :param config_file: path of a nova.conf, or None.
    :returns: a :class:`~migration_policy.Settings`.
    :raises cli.UsageError: when the file is unreadable, a value is
        invalid or the ``[nova_stx]`` options contradict each other.
    """
    # NOTE(nova-stx): Nova's options are imported only for this command,
    # so the other subcommands work where Nova is not installed.
    from nova.conf import libvirt as nova_libvirt_conf

    if config_file is not None:
        # NOTE(nova-stx): oslo.config reads a directory or a binary file
        # with a traceback; check what it gets first.
        if os.path.isdir(config_file):
            raise cli.UsageError(f'--config-file {config_file} is a '
                                 f'directory, not a nova.conf')
        inputs.read_text(config_file, 'nova.conf')
    conf = cfg.ConfigOpts()
    nova_libvirt_conf.register_opts(conf)
    stx_conf.register_opts(conf)
    try:
        conf(args=[], project='nova',
             default_config_files=[config_file] if config_file else [])
        problems = stx_conf.check(conf)
        if problems:
            raise cli.UsageError(f'{config_file}: ' + ' '.join(problems))
        return migration_policy.Settings.from_conf(conf)
    except cfg.ConfigFilesNotFoundError:
        raise cli.UsageError(f'cannot read {config_file}')
    except (cfg.Error, ValueError) as exc:
        raise cli.UsageError(f'{config_file}: {cli.one_line(exc)}')


def add_config_file_option(parser):
    """Add ``--config-file``, read by :func:`load_settings`."""
    parser.add_argument(
        '--config-file', metavar='PATH',
        help='A nova.conf for the [libvirt] and [nova_stx] options; '
             'without it, the defaults.')


def build_plan(flavor=None, image=None, instance=None, ram_mb=2048,
               disk_gb=(), settings=None):
    """Return the plan the driver would make, as the migration runs it.

    Unsupervised (the ``nova`` controller, no key for the limits): Nova's
    own ramp and timeout, which Nova's monitor runs.

    :param flavor: flavor extra specs, ``{name: value}``.
    :param image: image properties, ``{name: value}``.
    :param instance: instance metadata, ``{name: value}``.
    :param ram_mb: guest RAM, MiB.
    :param disk_gb: sizes of block-migrated disks, GiB.
    :param settings: a ``Settings``; None for the defaults.
    :returns: a ``MigrationPlan``.
    :raises cli.UsageError: naming each unknown property name.
    """
    by_source = {keys.Source.FLAVOR: flavor or {},
                 keys.Source.IMAGE: image or {},
                 keys.Source.INSTANCE: instance or {}}
    names.refuse_unknown(by_source, cli.UsageError)
    return migration_forecast.effective_plan(
        by_source[keys.Source.FLAVOR], by_source[keys.Source.IMAGE],
        by_source[keys.Source.INSTANCE],
        migration_policy.data_gb(ram_mb, disk_gb),
        settings or migration_policy.Settings())


def fields(plan, forecast=None):
    """Return the plan as ``[(field, value)]``, in display order.

    :param plan: a ``MigrationPlan``.
    :param forecast: a row of ``migration_forecast.forecast()`` for the
        plan's controller, or None.
    """
    src = plan.sources
    does = migration_forecast.describe(plan)
    return [
        ('max_downtime_ms', plan.max_downtime_ms),
        ('max_downtime_source', src['max_downtime_ms']),
        ('timeout_s', plan.timeout_s),
        ('timeout_source', src['timeout_s']),
        ('timeout_action', plan.timeout_action),
        ('post_copy', plan.post_copy),
        ('auto_converge', plan.auto_converge),
        ('auto_converge_source', src['auto_converge']),
        ('tunnelled', plan.tunnelled),
        ('tunnelled_source', src['tunnelled']),
        ('ramp', plan.ramp),
        ('steps', StepsColumn(plan.steps)),
        ('controller', does['controller']),
        ('supervised', does['supervised']),
        ('controller_action', does['action']),
        ('initial_downtime_ms', does['initial_downtime_ms']),
        ('early_end', workload.OptionalColumn(does['early_end'])),
        ('warnings', cli.ListColumn(plan.warnings)),
    ] + [(f'forecast_{name}', workload.OptionalColumn(forecast[name]))
         for name in FORECAST_FIELDS if forecast is not None]


def render_text(plan):
    """Return the plan as ``field: value`` lines (the demo prints it)."""
    lines = []
    for name, value in fields(plan):
        text = value.human_readable() if hasattr(
            value, 'human_readable') else str(value)
        first, *rest = text.splitlines() or ['']
        lines.append(f'{name + ":":<22}{first}')
        lines += [' ' * 22 + line for line in rest]
    return '\n'.join(lines)


class MigrationPlan(cli.ShowOne):
    """Show the max downtime, timeout, action and ramp of a migration.

    The per-instance live-migration limits resolved from flavor, image
    and instance properties and nova.conf, as the nova-stx libvirt driver
    resolves them; auto_converge and tunnelled are null where the host's
    setting applies. controller is [nova_stx] live_migration_controller,
    supervised whether it (not Nova's own monitor) steers this migration.
    With --link, the forecast_* fields: that controller's simulated
    outcome (see migration-simulate; disks are not simulated).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        cli.add_property_options(parser)
        parser.add_argument(
            '--ram-mb', type=inputs.positive_size, default=2048,
            help='Guest RAM in MiB (default 2048); with --disk-gb it sets '
                 "the data size Nova's per-GiB options scale by.")
        parser.add_argument(
            '--disk-gb', type=inputs.positive_size, action='append',
            default=[],
            help='Size in GiB of a local disk copied by a block migration '
                 '(repeatable).')
        add_config_file_option(parser)
        workload.add_options(parser, required=False)
        return parser

    def _forecast(self, args, props, settings):
        if args.link is None:
            given = [name for name in workload.OPTIONS
                     if getattr(args, name) is not None]
            if given:
                raise cli.UsageError(
                    f"--{given[0].replace('_', '-')} describes the guest "
                    f"for a forecast, which needs --link")
            return None
        return workload.forecast(
            args, args.ram_mb * workload.MIB, '--ram-mb', props, settings,
            (settings.controller,), args.disk_gb)[0]

    def take_action(self, args):
        props = cli.properties_from_args(args)
        settings = load_settings(args.config_file)
        plan = build_plan(props[keys.Source.FLAVOR],
                          props[keys.Source.IMAGE],
                          props[keys.Source.INSTANCE], args.ram_mb,
                          args.disk_gb, settings)
        pairs = fields(plan, self._forecast(args, props, settings))
        return tuple(n for n, _v in pairs), tuple(v for _n, v in pairs)
