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

"""``nova-stx explain``: which hosts the nova-stx filters pass, and why."""

import importlib
import logging
import os

from nova_stx.cmd import cli
from nova_stx.cmd import guest
from nova_stx.cmd import inputs
from nova_stx.cmd import names
from nova_stx import keys

_SOURCES = (keys.Source.FLAVOR, keys.Source.IMAGE)


def _modules():
    # NOTE(nova-stx): Nova is imported only when the command runs, so the
    # other subcommands and --help stay fast.
    return [importlib.import_module(f'nova_stx.explain.{name}')
            for name in ('capabilities', 'report', 'fleet')]


def _from_uri(uri):
    try:
        import libvirt
    except ImportError:
        raise cli.UsageError(
            '--libvirt-uri needs libvirt-python: pip install '
            "'nova-stx[libvirt]'")
    try:
        conn = libvirt.openReadOnly(uri)
        try:
            return conn.getCapabilities(), conn.getHostname()
        finally:
            conn.close()
    except libvirt.libvirtError as exc:
        raise cli.UsageError(f'{uri}: {exc}')


def _live_states(config_files):
    for path in config_files:
        if os.path.isdir(path):
            raise cli.UsageError(f'--config-file {path} is a directory, '
                                 f'not a nova.conf')
        inputs.read_text(path, 'nova.conf')
    live = importlib.import_module('nova_stx.explain.live')
    try:
        live.configure(config_files)
        return live.host_states()
    except live.LiveFleetError as exc:
        raise cli.UsageError(str(exc))
    except Exception as exc:
        # NOTE(nova-stx): oslo.config and oslo.db errors of a broken
        # nova.conf or an unreachable database.
        raise cli.UsageError(f'cannot read the fleet from '
                             f'{", ".join(config_files)}: {exc}')


def host_states(args, capabilities, fleet):
    """Return ``(HostStates, notes)`` for the hosts the arguments name."""
    if args.config_file:
        return _live_states(args.config_file)
    if args.fleet:
        text = inputs.read_text(args.fleet, 'fleet file')
        data = inputs.load_yaml(text, args.fleet)
        hosts = fleet.hosts_of(data, args.fleet)
    else:
        docs = []
        for path in args.capabilities_xml or ():
            docs.append((inputs.read_text(path, 'capabilities XML'), path))
        for uri in args.libvirt_uri or ():
            xml, hostname = _from_uri(uri)
            docs.append((xml, f'{hostname} ({uri})'))
        hosts = [capabilities.host_from_capabilities(
            xml, name, args.dedicated_cpus, args.shared_cpus)
            for xml, name in docs] if docs else fleet.sample()
    return [fleet.host_state(h) for h in hosts], []


def rows(result, guest_items=()):
    """Return ``(columns, rows)``: one row per host, a column per filter.

    A filter's column says ``pass`` or ``FAIL``; ``Reasons`` holds each
    failing filter's reason; ``Guest``, for a host that fits, what the
    guest gets there (:func:`nova_stx.cmd.guest.fields`).
    """
    short = [name.replace('Stx', '', 1).replace('Filter', '')
             for name in result.filters]
    columns = ('Host', *short, 'Result', 'Reasons', 'Guest')
    gets = guest.fields(guest_items)
    data = []
    for host in result.hosts:
        verdicts = ['pass' if reason is None else 'FAIL'
                    for _name, reason in host.verdicts]
        reasons = {name: reason for name, reason in host.verdicts
                   if reason is not None}
        data.append((host.host, *verdicts,
                     'fits' if host.fits else 'rejected',
                     cli.DictColumn(reasons),
                     cli.DictColumn(gets if host.fits else {})))
    return columns, data


def guest_notes(guest_items):
    """Notes on what the filters cannot see of the guest's keys."""
    model = next(i for i in guest_items if i.field == 'vcpu_model')
    if model.source is not keys.Source.IMAGE:
        return []
    # NOTE(nova-stx): Nova 34 keeps hw_cpu_model out of the RequestSpec.
    return [f'the guest gets {model.name} {model.value}, which the '
            f'scheduler cannot see: a host whose libvirt cannot run it '
            f'refuses the build and Nova reschedules (set '
            f'{keys.CPU_MODEL.flavor} on the flavor to steer placement)']


class Explain(cli.Lister):
    """Say which hosts the nova-stx filters pass for a flavor and image.

    Runs the nova-stx scheduler filters, as the scheduler would, on the
    compute nodes of a deployment (--config-file, its nova.conf), a fleet
    file, libvirt capabilities XML or a libvirt URI (default: the sample
    fleet shipped with nova-stx). Exits 0 when a host fits, 1 when none
    does, 2 on bad input.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        cli.add_property_options(parser, _SOURCES)
        parser.add_argument('--vcpus', type=inputs.count, default=2,
                            help='The flavor vCPUs (default 2).')
        parser.add_argument('--ram-mb', type=inputs.positive_size,
                            default=2048,
                            help='The flavor RAM in MiB (default 2048).')
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            '--config-file', metavar='NOVA_CONF', action='append',
            help="A deployment's nova.conf (repeatable, read in order): "
                 'explain on the compute nodes in its cell databases, as '
                 "Nova's scheduler sees them.")
        source.add_argument('--fleet', metavar='FILE',
                            help='A YAML or JSON file of host topologies.')
        source.add_argument('--capabilities-xml', metavar='FILE',
                            action='append',
                            help='libvirt capabilities XML of one host '
                                 '(repeatable).')
        source.add_argument('--libvirt-uri', metavar='URI', action='append',
                            help='Read the capabilities from libvirt, e.g. '
                                 'test:///default (repeatable; needs '
                                 'libvirt-python).')
        parser.add_argument(
            '--dedicated-cpus', default='all', metavar='CPUSET',
            help="With XML or a URI: CPUs for pinned guests, as "
                 "nova.conf's [compute] cpu_dedicated_set ('all' or "
                 "'none'; default all).")
        parser.add_argument(
            '--shared-cpus', default='all', metavar='CPUSET',
            help="With XML or a URI: CPUs for floating guests, as "
                 "[compute] cpu_shared_set ('all' or 'none'; default all).")
        return parser

    def take_action(self, args):
        # NOTE(nova-stx): the filters log a host they cannot evaluate;
        # here the Reasons column already shows it.
        logger = logging.getLogger('nova_stx.scheduler')
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            return self._take_action(args)
        finally:
            logger.setLevel(level)

    def _take_action(self, args):
        properties = cli.properties_from_args(args, _SOURCES)
        names.refuse_unknown(properties, cli.UsageError)
        capabilities, report, fleet = _modules()
        try:
            states, notes = host_states(args, capabilities, fleet)
            spec, request_notes = report.build_request(
                properties[keys.Source.FLAVOR],
                properties[keys.Source.IMAGE], args.vcpus, args.ram_mb)
        except (fleet.FleetError, capabilities.CapabilitiesError,
                report.RequestError) as exc:
            raise cli.UsageError(str(exc))
        if not states:
            raise cli.UsageError('no compute node to explain on')
        guest_items = guest.describe(properties[keys.Source.FLAVOR],
                                     properties[keys.Source.IMAGE])
        problems = guest.errors(guest_items)
        if problems:
            # NOTE(nova-stx): Nova's API and scheduler let such a request
            # through; every nova-stx compute refuses to build it.
            raise cli.UsageError('every compute would refuse the build: ' +
                                 ' '.join(problems))
        result = report.run(states, spec, notes=list(notes) +
                            list(request_notes) + guest_notes(guest_items))
        for note in result.notes:
            self.app.stderr.write(f'Note: {note}\n')
        if not result.fitting:
            self.app.stderr.write('No host fits (NoValidHost).\n')
        self.exit_code = 0 if result.fitting else 1
        return rows(result, guest_items)
