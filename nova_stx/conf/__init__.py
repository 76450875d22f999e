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

"""nova-stx configuration options, in the ``[nova_stx]`` group.

Each topic has its own module with ``register_opts(conf)`` and
``list_opts()``, and optionally ``check_opts(conf)`` returning the
problems of options that are valid one by one but not together.
Nothing is registered at import: services call :func:`load` when they
load a nova-stx piece (a filter, the driver), tools call
:func:`register_opts` on their own config object.
"""

from oslo_config import cfg
from oslo_log import log as logging

from nova_stx.conf import live_migration
from nova_stx.conf import numa
from nova_stx.conf import scheduler
from nova_stx import nova_version

LOG = logging.getLogger(__name__)

CONF = cfg.CONF

#: Option modules, one per topic (one per line, to keep merges easy).
_MODULES = (
    live_migration,
    numa,
    scheduler,
)


class InconsistentConfig(ValueError):
    """``[nova_stx]`` options contradict each other; the text says how."""


def register_opts(conf):
    """Register every nova-stx option on ``conf`` (idempotent)."""
    for module in _MODULES:
        module.register_opts(conf)


def list_opts():
    """Return ``[(group, [opts])]`` for oslo-config-generator."""
    return [opt for module in _MODULES for opt in module.list_opts()]


def check(conf):
    """Return the problems of the ``[nova_stx]`` options, taken together.

    :param conf: a config object with the options registered.
    :returns: a list of texts, each naming the options and the fix; empty
        when the options are consistent.
    """
    problems = []
    for module in _MODULES:
        checker = getattr(module, 'check_opts', None)
        if checker is not None:
            problems.extend(checker(conf))
    return problems


_version_warned = []


def load(conf=CONF):
    """Register the options and refuse an inconsistent configuration.

    Called when a service loads a nova-stx piece; also warns, once per
    process, when Nova's version is outside the tested range.

    :param conf: the service's config object (Nova's global by default).
    :raises InconsistentConfig: naming each problem and its fix.
    """
    register_opts(conf)
    problems = check(conf)
    if problems:
        raise InconsistentConfig(
            'nova-stx refuses to start: ' + ' '.join(problems))
    if not _version_warned:
        _version_warned.append(True)
        warning = nova_version.untested()
        if warning:
            LOG.warning(warning)
