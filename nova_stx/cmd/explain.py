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
import json
import logging
import sys
import warnings

from nova_stx.cmd import cli
from nova_stx import keys

_SOURCES = (keys.Source.FLAVOR, keys.Source.IMAGE)


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'explain',
        help='Run the nova-stx scheduler filters on a fleet and say which '
             'hosts fit a flavor and image, and why the others do not.',
        description='Run the nova-stx scheduler filters, as the scheduler '
                    'would, on hosts described by a fleet file, libvirt '
                    'capabilities XML or a libvirt URI (default: the '
                    'sample fleet shipped with nova-stx). Exits 0 when a '
                    'host fits, 1 when none does, 2 on bad input.')
    cli.add_property_options(parser, _SOURCES)
    parser.add_argument('--vcpus', type=int, default=2,
                        help='The flavor vCPUs (default 2).')
    parser.add_argument('--ram-mb', type=int, default=2048,
                        help='The flavor RAM in MiB (default 2048).')
    source = parser.add_mutually_exclusive_group()
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
        help="With XML or a URI: CPUs for pinned guests, as nova.conf's "
             "[compute] cpu_dedicated_set ('all' or 'none'; default all).")
    parser.add_argument(
        '--shared-cpus', default='all', metavar='CPUSET',
        help="With XML or a URI: CPUs for floating guests, as "
             "[compute] cpu_shared_set ('all' or 'none'; default all).")
    parser.add_argument('--format', choices=('table', 'json'),
                        default='table', help='Output format.')
    parser.set_defaults(func=run)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as exc:
        raise cli.UsageError(f'cannot read {path}: {exc.strerror}')


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


def _explain_modules():
    # NOTE(nova-stx): Nova is imported only when the command runs, so the
    # other subcommands and --help stay fast. Nova's imports pull in
    # futurist, which probes for eventlet and warns that it is deprecated;
    # nova-stx never uses eventlet, so that warning is noise here.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    return [importlib.import_module(f'nova_stx.explain.{name}')
            for name in ('capabilities', 'report', 'fleet')]


def hosts(args, capabilities, fleet):
    """Return the fleet's host mappings the arguments point at."""
    if args.fleet:
        return fleet.parse(_read(args.fleet), args.fleet)
    docs = []
    for path in args.capabilities_xml or ():
        docs.append((_read(path), path))
    for uri in args.libvirt_uri or ():
        xml, hostname = _from_uri(uri)
        docs.append((xml, f'{hostname} ({uri})'))
    if not docs:
        return fleet.sample()
    return [capabilities.host_from_capabilities(
        xml, name, args.dedicated_cpus, args.shared_cpus)
        for xml, name in docs]


def run(args):
    # NOTE(nova-stx): the filters log a host they cannot evaluate; here
    # the table already shows that reason.
    logger = logging.getLogger('nova_stx.scheduler')
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return _run(args)
    finally:
        logger.setLevel(level)


def _run(args):
    capabilities, report, fleet = _explain_modules()
    try:
        states = [fleet.host_state(h)
                  for h in hosts(args, capabilities, fleet)]
        properties = cli.properties_from_args(args, _SOURCES)
        spec, notes = report.build_request(
            properties[keys.Source.FLAVOR], properties[keys.Source.IMAGE],
            args.vcpus, args.ram_mb)
    except (fleet.FleetError, capabilities.CapabilitiesError,
            report.RequestError) as exc:
        raise cli.UsageError(str(exc))
    result = report.run(states, spec, notes=notes)
    if args.format == 'json':
        json.dump(result.as_dict(), sys.stdout, indent=2)
        sys.stdout.write('\n')
    else:
        sys.stdout.write(report.format_table(result))
    return 0 if result.fitting else 1
