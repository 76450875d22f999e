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

"""Which Nova releases nova-stx is tested with, and which one is here."""

import importlib.metadata
import re

#: Nova releases nova-stx is tested with: ``MINIMUM <= version < LIMIT``.
MINIMUM = (34, 0, 0)
LIMIT = (35, 0, 0)
SUPPORTED = '34.x (2026.2)'


def installed():
    """Return the installed Nova's version text, or None without Nova."""
    try:
        return importlib.metadata.version('nova')
    except importlib.metadata.PackageNotFoundError:
        return None


def own():
    """Return nova-stx's version text."""
    try:
        return importlib.metadata.version('nova-stx')
    except importlib.metadata.PackageNotFoundError:
        return 'unknown'


def parse(text):
    """Return ``(major, minor, patch)`` of a version text, or None."""
    match = re.match(r'([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?', text or '')
    if not match:
        return None
    return tuple(int(part or 0) for part in match.groups())


def untested(version=None):
    """Return a warning when Nova's version is outside the tested range.

    :param version: a version text; default the installed Nova's.
    :returns: None, or the warning naming the version and the range.
    """
    version = version if version is not None else installed()
    if version is None:
        return ('Nova is not installed in this Python environment; '
                'nova-stx runs inside Nova and needs Nova '
                f'{SUPPORTED}.')
    parsed = parse(version)
    if parsed is None or not MINIMUM <= parsed < LIMIT:
        return (f'Nova {version} is not a release nova-stx is tested '
                f'with (Nova {SUPPORTED}); its filters and driver '
                f'extension rely on Nova internals that may differ.')
    return None


def versions_text():
    """Return ``nova-stx X (Nova Y)`` for ``--version``."""
    return f'nova-stx {own()} (Nova {installed() or "not installed"})'
