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
``list_opts()``; :func:`register_opts` registers them all.
"""

from oslo_config import cfg

from nova_stx.conf import live_migration
from nova_stx.conf import numa
from nova_stx.conf import scheduler

CONF = cfg.CONF

_MODULES = (live_migration, numa, scheduler)


def register_opts(conf):
    """Register every nova-stx option on ``conf`` (idempotent)."""
    for module in _MODULES:
        module.register_opts(conf)


def list_opts():
    """Return ``[(group, [opts])]`` for oslo-config-generator."""
    return [opt for module in _MODULES for opt in module.list_opts()]


register_opts(CONF)
