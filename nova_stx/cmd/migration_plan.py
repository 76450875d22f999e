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

Properties are checked with the rules Nova's API and Glance apply: a value
they would reject is an error (exit 2). A valid value that the operator's
``[nova_stx] tenant_*`` bounds adjust or ignore is applied as the driver
would and reported as a warning.
"""

import argparse
import json

from oslo_config import cfg

from nova_stx.cmd import cli
from nova_stx import conf as stx_conf
from nova_stx import keys
from nova_stx.virt.libvirt import migration_policy


def _positive(text):
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"must be a positive number, got '{text}'")
    return value


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'migration-plan',
        help='Show the max downtime, timeout, action and downtime ramp a '
             'live migration would get.',
        description='Resolve the per-instance live-migration limits from '
                    'flavor, image and instance properties and nova.conf, '
                    'as the nova-stx libvirt driver does.')
    cli.add_property_options(parser)
    parser.add_argument(
        '--ram-mb', type=_positive, default=2048,
        help='Guest RAM in MiB (default 2048); with --disk-gb it sets the '
             "data size Nova's per-GiB options scale by.")
    parser.add_argument(
        '--disk-gb', type=_positive, action='append', default=[],
        help='Size in GiB of a local disk copied by a block migration '
             '(repeatable).')
    parser.add_argument(
        '--config-file', metavar='PATH',
        help='A nova.conf for the [libvirt] and [nova_stx] options; '
             'without it, the defaults.')
    parser.add_argument('--format', choices=('text', 'json'),
                        default='text')
    parser.set_defaults(func=run)


def load_settings(config_file=None):
    """Return the policy settings from a nova.conf, or the defaults.

    :param config_file: path of a nova.conf, or None.
    :returns: a :class:`~migration_policy.Settings`.
    :raises cli.UsageError: when the file is missing or a value is invalid.
    """
    # NOTE(nova-stx): Nova's options are imported only for this command,
    # so the other subcommands work where Nova is not installed.
    from nova.conf import libvirt as nova_libvirt_conf

    conf = cfg.ConfigOpts()
    nova_libvirt_conf.register_opts(conf)
    stx_conf.register_opts(conf)
    try:
        conf(args=[], project='nova',
             default_config_files=[config_file] if config_file else [])
        return migration_policy.Settings.from_conf(conf)
    except cfg.ConfigFilesNotFoundError:
        raise cli.UsageError(f'cannot read {config_file}')
    except (cfg.ConfigFileParseError, cfg.ConfigFileValueError,
            ValueError) as exc:
        raise cli.UsageError(f'{config_file}: {exc}')


def build_plan(flavor=None, image=None, instance=None, ram_mb=2048,
               disk_gb=(), settings=None):
    """Validate the properties and return the plan.

    :param flavor: flavor extra specs, ``{name: value}``.
    :param image: image properties, ``{name: value}``.
    :param instance: instance metadata, ``{name: value}``.
    :param ram_mb: guest RAM, MiB.
    :param disk_gb: sizes of block-migrated disks, GiB.
    :param settings: a ``Settings``; None for the defaults.
    :returns: a ``MigrationPlan``.
    :raises cli.UsageError: naming each invalid key, value and rule.
    """
    by_source = {keys.Source.FLAVOR: flavor or {},
                 keys.Source.IMAGE: image or {},
                 keys.Source.INSTANCE: instance or {}}
    errors = [str(exc) for source, props in by_source.items()
              for exc in keys.validate(props, source)]
    if errors:
        raise cli.UsageError(' '.join(errors))
    return migration_policy.plan(
        by_source[keys.Source.FLAVOR], by_source[keys.Source.IMAGE],
        by_source[keys.Source.INSTANCE],
        migration_policy.data_gb(ram_mb, disk_gb),
        settings or migration_policy.Settings())


def _flag_text(value, source):
    if value is None:
        return 'host setting'
    return f'{str(value).lower()} ({source})'


def render_text(plan):
    """Return the plan as the text ``migration-plan`` prints.

    :param plan: a ``MigrationPlan``.
    :returns: a multi-line string.
    """
    src = plan.sources
    timeout = (f'{plan.timeout_s} s' if plan.timeout_s else 'none (0)')
    action = plan.timeout_action
    if action == migration_policy.FORCE_COMPLETE:
        action += ' (post-copy)' if plan.post_copy else ' (pause)'
    lines = [
        f"Max downtime:   {plan.max_downtime_ms} ms "
        f"({src['max_downtime_ms']})",
        f"Timeout:        {timeout} ({src['timeout_s']})",
        f'Timeout action: {action}',
        f"Auto-converge:  "
        f"{_flag_text(plan.auto_converge, src['auto_converge'])}",
        f"Tunnelled:      {_flag_text(plan.tunnelled, src['tunnelled'])}",
        f'Downtime ramp:  {plan.ramp}',
    ]
    lines += [f'  after {seconds:>5} s: {ms:>5} ms'
              for seconds, ms in plan.steps]
    if plan.warnings:
        lines.append('Warnings:')
        lines += [f'  {warning}' for warning in plan.warnings]
    return '\n'.join(lines)


def render_json(plan):
    """Return the plan as the JSON ``migration-plan`` prints."""
    return json.dumps(plan.to_dict(), sort_keys=True)


def run(args):
    props = cli.properties_from_args(args)
    plan = build_plan(props[keys.Source.FLAVOR], props[keys.Source.IMAGE],
                      props[keys.Source.INSTANCE], args.ram_mb,
                      args.disk_gb, load_settings(args.config_file))
    if args.format == 'json':
        print(render_json(plan))
    else:
        print(render_text(plan))
    return 0
