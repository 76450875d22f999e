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

"""The ``nova-stx`` operator command, built on cliff.

Each subcommand is one module of this package holding a subclass of
:class:`Lister` (rows) or :class:`ShowOne` (one record), published in
the ``nova_stx.cli`` entry-point namespace of ``setup.cfg``. cliff gives
every subcommand ``-f/--format table|json|yaml|value|...``, ``-c`` and
``--help``; this module adds ``--version``, the property options, and the
convention for failures: bad input raises :class:`UsageError`, printed as
one line on stderr with exit code 2, never a traceback. See
``doc/source/contributor/cli.rst``.
"""

import argparse
import sys
import warnings

from cliff import app
from cliff import columns
from cliff import commandmanager
from cliff import lister
from cliff import show

from nova_stx import keys
from nova_stx import nova_version

NAMESPACE = 'nova_stx.cli'
NAME = 'nova-stx'


class UsageError(Exception):
    """Bad input from the user; the message says what and why."""


def one_line(text):
    """Return ``text`` on one line, whitespace runs folded."""
    return ' '.join(str(text).split())


class ListColumn(columns.FormattableColumn):
    """A list: one item per line in a table, a list in JSON and YAML."""

    def human_readable(self):
        return '\n'.join(str(item) for item in self._value)

    def machine_readable(self):
        return list(self._value)


class DictColumn(columns.FormattableColumn):
    """A mapping: ``key: value`` lines in a table, a mapping in JSON."""

    def human_readable(self):
        return '\n'.join(f'{k}: {v}' for k, v in self._value.items())

    def machine_readable(self):
        return dict(self._value)


class _Convention:
    """What every nova-stx subcommand shares (mixed into cliff's bases).

    ``take_action`` may set :attr:`exit_code` (e.g. 1: an invalid
    property, no host fits); :class:`UsageError` becomes exit code 2.
    """

    exit_code = 0

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--version', action='version',
                            version=nova_version.versions_text())

        def error(message):
            # NOTE(nova-stx): one line, not argparse's usage block.
            parser.exit(2, f'{prog_name}: error: {one_line(message)} '
                           f'(see --help)\n')

        parser.error = error
        return parser

    def run(self, parsed_args):
        try:
            code = super().run(parsed_args)
        except UsageError as exc:
            self.app.stderr.write(
                f'{NAME} {self.cmd_name}: error: {one_line(exc)}\n')
            return 2
        except BrokenPipeError:
            raise
        except Exception as exc:
            if getattr(self.app_args, 'debug', False):
                raise
            # NOTE(nova-stx): a safety net, not a way to report input
            # errors: the fuzz tests fail when it is reached.
            self.app.stderr.write(
                f'{NAME} {self.cmd_name}: internal error: '
                f'{type(exc).__name__}: {one_line(exc)} (a bug in '
                f'nova-stx; --debug shows the traceback)\n')
            return 2
        return self.exit_code or code


class Lister(_Convention, lister.Lister):
    """A subcommand printing rows (``take_action`` returns columns, rows).
    """


class ShowOne(_Convention, show.ShowOne):
    """A subcommand printing one record (``take_action`` returns names,
    values).
    """


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


class NovaStxApp(app.App):
    """The ``nova-stx`` application: cliff with our subcommands."""

    NAME = NAME
    # NOTE(nova-stx): warnings and errors only on stderr by default (-v
    # for more): Nova's libraries log INFO lines as they load.
    DEFAULT_VERBOSE_LEVEL = 0

    def __init__(self, stdout=None, stderr=None):
        super().__init__(
            description='Operator tools of nova-stx, the NFV placement and '
                        'live-migration plugin for OpenStack Nova.',
            version=nova_version.versions_text(),
            command_manager=commandmanager.CommandManager(NAMESPACE),
            deferred_help=True, stdout=stdout, stderr=stderr)

    def build_option_parser(self, description, version,
                            argparse_kwargs=None):
        parser = super().build_option_parser(
            description, version, argparse_kwargs)
        # NOTE(nova-stx): cliff prefixes the version with the name of the
        # running script; ours names both nova-stx's and Nova's versions.
        for action in parser._actions:
            if isinstance(action, argparse._VersionAction):
                action.version = version
        return parser

    def run(self, argv):
        # NOTE(nova-stx): without a command cliff starts an interactive
        # shell; an operator tool run from scripts prints its help.
        return super().run(list(argv) or ['help'])


def quiet_third_party_warnings():
    """Keep other projects' warnings (eventlet, oslo) off stderr.

    Nova's imports pull in futurist, which warns that eventlet is
    deprecated; nova-stx never uses eventlet. A user's own ``-W`` or
    ``PYTHONWARNINGS`` choice is kept.
    """
    if not sys.warnoptions:
        warnings.simplefilter('ignore')
        warnings.filterwarnings('default', module='nova_stx')


def _safe_streams():
    # NOTE(nova-stx): names from the command line may hold undecodable
    # bytes (lone surrogates); echoing them must not fail.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, 'reconfigure', None)
        if reconfigure is not None:
            reconfigure(errors='backslashreplace')


def main(argv=None):
    quiet_third_party_warnings()
    _safe_streams()
    argv = sys.argv[1:] if argv is None else argv
    return NovaStxApp().run(argv)
