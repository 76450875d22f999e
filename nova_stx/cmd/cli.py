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

"""The ``nova-stx`` operator command.

Each subcommand is a module of this package with ``add_parser(subparsers)``
that sets ``func=run`` on its parser; ``run(args)`` returns the exit code.
Bad input raises :class:`UsageError`, printed without a traceback.
"""

import argparse
import importlib
import sys

from nova_stx import keys

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = (
    'validate',
    'metadefs',
    'keys_cmd',
    'explain',
    'migration_plan',
)


class UsageError(Exception):
    """Bad input from the user; the message says what and why."""


def parse_properties(pairs, option):
    """Turn ``['k=v', ...]`` into ``{k: v}``.

    :param pairs: the repeated option's values.
    :param option: the option's name, for the error text.
    :raises UsageError: when an item has no ``=`` or an empty key.
    """
    properties = {}
    for pair in pairs or ():
        name, sep, value = pair.partition('=')
        if not sep or not name:
            raise UsageError(
                f"{option} expects KEY=VALUE, got '{pair}'")
        properties[name] = value
    return properties


#: Where a property can be set, in the order options are listed.
PROPERTY_SOURCES = (keys.Source.FLAVOR, keys.Source.IMAGE,
                    keys.Source.INSTANCE)


def add_property_options(parser, sources=PROPERTY_SOURCES):
    """Add a repeatable ``--<source>-property KEY=VALUE`` per source."""
    for source in sources:
        parser.add_argument(
            f'--{source}-property', dest=f'{source}_property',
            action='append', default=[], metavar='KEY=VALUE',
            help=f'A {source} property (repeatable).')


def properties_from_args(args, sources=PROPERTY_SOURCES):
    """Return ``{Source: {name: value}}`` from the property options."""
    return {source: parse_properties(getattr(args, f'{source}_property'),
                                     f'--{source}-property')
            for source in sources}


def build_parser():
    parser = argparse.ArgumentParser(
        prog='nova-stx',
        description='Operator tools of nova-stx, the NFV placement and '
                    'live-migration plugin for OpenStack Nova.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f'nova_stx.cmd.{name}')
        module.add_parser(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f'nova-stx {args.command}: error: {exc}', file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
