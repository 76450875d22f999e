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

"""Options of the nova-stx scheduler filters."""

from oslo_config import cfg

from nova_stx.conf import live_migration

OPTS = [
    cfg.IntOpt(
        'rejection_summary_reasons',
        default=3,
        min=1,
        max=20,
        help="""
How many of the most frequent rejection reasons, per nova-stx filter, the
scheduler logs at INFO when no host passes the filters of a request.

Per-host reasons are always logged at DEBUG.
"""),
]


def register_opts(conf):
    conf.register_group(live_migration.GROUP)
    conf.register_opts(OPTS, group=live_migration.GROUP)


def list_opts():
    return [(live_migration.GROUP, OPTS)]
