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

"""Reading what operators hand the CLI: files, YAML, numbers.

Every reader here turns bad input into :class:`cli.UsageError` with one
line naming the file and the problem, and bounds the work: files are
size-limited, YAML aliases are refused (no alias bombs) and nesting is
limited before anything is built.
"""

import argparse
import math

import yaml

from nova_stx.cmd import cli

#: Largest file the CLI reads, bytes (a 1,000-host fleet is ~300 KiB).
MAX_BYTES = 2 * 1024 * 1024
#: Deepest YAML/JSON nesting accepted (the formats need 5 levels).
MAX_DEPTH = 32

try:
    _BaseLoader = yaml.CBaseLoader
    _SafeLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _BaseLoader = yaml.BaseLoader
    _SafeLoader = yaml.SafeLoader


class _PlainLoader(_SafeLoader):
    """The safe loader without timestamps: dates stay text."""


_PlainLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag != 'tag:yaml.org,2002:timestamp']
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()}


def read_text(path, what='file', limit=MAX_BYTES):
    """Return the UTF-8 text of ``path``.

    :raises cli.UsageError: missing, unreadable, a directory, too large,
        binary or not UTF-8.
    """
    try:
        with open(path, 'rb') as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise cli.UsageError(f'cannot read {what} {path}: '
                             f'{exc.strerror or exc}')
    if len(data) > limit:
        raise cli.UsageError(f'{path} is larger than {limit // 1024} KiB; '
                             f'nova-stx reads no {what} that large')
    if b'\0' in data:
        raise cli.UsageError(f'{path} is a binary file, not a text {what}')
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise cli.UsageError(f'{path} is not UTF-8 text (byte '
                             f'{exc.start}: {exc.reason})')


def _where(exc):
    mark = getattr(exc, 'problem_mark', None) or getattr(
        exc, 'context_mark', None)
    if mark is None:
        return ''
    return f'line {mark.line + 1}, column {mark.column + 1}: '


def _problem(exc):
    parts = [getattr(exc, 'context', None), getattr(exc, 'problem', None)]
    text = ', '.join(p for p in parts if p) or str(exc)
    return cli.one_line(text)


def _prescan(text, origin):
    """Refuse aliases and deep nesting before anything is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            raise cli.UsageError(
                f'{origin}: YAML aliases (*{event.anchor}) are not '
                f'accepted; write each value out')
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise cli.UsageError(
                    f'{origin}: nested deeper than {MAX_DEPTH} levels')
        elif isinstance(event, (yaml.MappingEndEvent,
                                yaml.SequenceEndEvent)):
            depth -= 1


def load_yaml(text, origin, typed=True):
    """Parse YAML (or JSON) text safely.

    :param text: the text.
    :param origin: where it came from, for errors.
    :param typed: numbers and booleans as such (dates stay text); when
        False every scalar stays the text written, as Nova and Glance
        keep property values.
    :returns: the data.
    :raises cli.UsageError: one line with the position and the problem.
    """
    try:
        _prescan(text, origin)
        return yaml.load(text, Loader=_PlainLoader if typed
                         else _BaseLoader)
    except yaml.YAMLError as exc:
        raise cli.UsageError(f'{origin} is not valid JSON or YAML: '
                             f'{_where(exc)}{_problem(exc)}')
    except (ValueError, OverflowError, RecursionError) as exc:
        # NOTE(nova-stx): e.g. an integer longer than Python converts.
        raise cli.UsageError(f'{origin}: unreadable value: '
                             f'{cli.one_line(exc)[:200]}')


def check_text(value, where):
    """Refuse text Nova could never store (lone surrogates, NUL)."""
    if '\0' in value:
        raise cli.UsageError(f'{where} contains a NUL character')
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        shown = value.encode('utf-8', 'backslashreplace').decode()[:80]
        raise cli.UsageError(f'{where} is not valid Unicode text (a lone '
                             f'surrogate): {shown!r}')
    return value


#: Largest size the CLI takes for RAM, MiB (1 PiB) or a disk, GiB.
MAX_SIZE = 2 ** 30


def positive_size(text):
    """argparse type: a finite number > 0, at most :data:`MAX_SIZE`."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_SIZE:
        raise argparse.ArgumentTypeError(
            f"must be a number greater than 0 and at most {MAX_SIZE}, got "
            f"'{text}'")
    return value


def count(text):
    """argparse type: a whole number from 1 to 4096 (vCPUs)."""
    try:
        value = int(text.strip()) if len(text) < 16 else 0
    except ValueError:
        value = 0
    if not 1 <= value <= 4096:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to 4096, got '{text}'")
    return value


def whole_number(minimum, maximum):
    """Return an argparse type: a whole number from minimum to maximum."""

    def parse(text):
        digits = text.strip()
        value = int(digits) if (digits.isascii() and digits.isdigit() and
                                len(digits) <= len(str(maximum))) else None
        if value is None or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {minimum} to {maximum}, got "
                f"'{text}'")
        return value

    return parse
