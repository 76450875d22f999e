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

"""Options of the libvirt live-migration extension."""

from oslo_config import cfg

from nova_stx.virt.libvirt import downtime_ramp

GROUP = cfg.OptGroup(
    'nova_stx', title='nova-stx options',
    help='Options of the nova-stx scheduler filters and libvirt driver '
         'extension.')

OPTS = [
    cfg.IntOpt(
        'live_migration_timeout',
        min=0,
        help="""
Live-migration timeout, in seconds, for instances whose flavor, image and
metadata set none.

Absolute, unlike ``[libvirt] live_migration_completion_timeout`` which is
per GiB of guest data. 0 disables the timeout. Unset (the default) keeps
Nova's own per-GiB timeout for such instances. StarlingX deployed 180.
Setting it is an opt-in: under the ``nova`` controller every migration is
then supervised by nova-stx with this timeout and
``live_migration_downtime_ramp``, as if each instance had a timeout key.

Related options:

* ``[libvirt] live_migration_completion_timeout``
* ``live_migration_timeout_action``
"""),
    cfg.StrOpt(
        'live_migration_timeout_action',
        choices=[
            ('abort', 'Abort the migration; the guest keeps running on the '
                      'source (StarlingX).'),
            ('force_complete', 'Switch to post-copy when '
                               '[libvirt] live_migration_permit_post_copy '
                               'is set, else pause the guest until the '
                               'copy completes.'),
        ],
        help="""
What to do when a live migration reaches its timeout (per-instance or
``live_migration_timeout``). Unset (the default) follows
``[libvirt] live_migration_timeout_action``, whose default is ``abort``.
Like ``live_migration_timeout``, setting it makes nova-stx supervise
every migration under the ``nova`` controller.

Related options:

* ``live_migration_timeout``
* ``[libvirt] live_migration_timeout_action``
* ``[libvirt] live_migration_permit_post_copy``
"""),
    cfg.StrOpt(
        'live_migration_controller',
        default='nova',
        choices=[
            ('nova', "Nova's own monitor for every migration that no "
                     "nova-stx key applies to, exactly as without "
                     "nova-stx; a migration with a per-instance max "
                     "downtime or timeout follows its limits with the "
                     "live_migration_downtime_ramp."),
            ('starlingx', 'Every migration follows its limits with the '
                          'live_migration_downtime_ramp (StarlingX); with no '
                          "key the limits are Nova's options."),
            ('sla', 'Every migration is steered by the convergence-aware '
                    'controller within its limits: one-step downtime '
                    'increases to what the next switch-over needs, an early '
                    'end when the max downtime cannot be met; with no key '
                    "the limits are Nova's options."),
        ],
        help="""
What steers a live migration's downtime and ends it.

With ``nova`` (the default) a migration of an instance whose flavor, image
and metadata set no max downtime and no timeout makes exactly the libvirt
calls Nova makes, at Nova's times. The other values are an explicit
opt-in: they also steer migrations no key applies to, with the limits
from ``[libvirt] live_migration_downtime`` and
``live_migration_completion_timeout`` (or ``live_migration_timeout``).

Related options:

* ``live_migration_downtime_ramp``
* ``live_migration_timeout``
* ``[libvirt] live_migration_downtime``
* ``[libvirt] live_migration_completion_timeout``
"""),
    cfg.StrOpt(
        'live_migration_downtime_ramp',
        default=downtime_ramp.STARLINGX,
        choices=[
            (downtime_ramp.STARLINGX,
             'Linear, reaching the maximum downtime at 2/3 of the timeout '
             '(StarlingX), with at most [libvirt] '
             'live_migration_downtime_delay seconds per GiB between '
             'steps.'),
            (downtime_ramp.NOVA,
             'Linear, one step every [libvirt] '
             'live_migration_downtime_delay seconds per GiB of guest data '
             '(upstream Nova).'),
            (downtime_ramp.EXPONENTIAL, 'Exponential, as Nova Liberty did.'),
        ],
        help="""
How the maximum downtime grows from its first step to the effective
maximum while a live migration that nova-stx steers runs (see
``live_migration_controller``). Every ramp has
``[libvirt] live_migration_downtime_steps`` steps and ends exactly at the
maximum.

Related options:

* ``live_migration_controller``
* ``[libvirt] live_migration_downtime``
* ``[libvirt] live_migration_downtime_steps``
* ``[libvirt] live_migration_downtime_delay``
"""),
    cfg.IntOpt(
        'tenant_live_migration_timeout_min',
        default=120,
        min=120,
        max=800,
        help="""
Smallest non-zero timeout, in seconds, that image properties and instance
metadata (set by tenants) may ask for; a smaller one is raised to this.
Flavor values (admin-set) are not bounded.

Related options:

* ``tenant_live_migration_timeout_max``
* ``tenant_live_migration_timeout_allow_disable``
"""),
    cfg.IntOpt(
        'tenant_live_migration_timeout_max',
        default=800,
        min=120,
        max=800,
        help="""
Largest timeout, in seconds, that image properties and instance metadata
(set by tenants) may ask for; a larger one is lowered to this. Flavor
values (admin-set) are not bounded.

Related options:

* ``tenant_live_migration_timeout_min``
* ``tenant_live_migration_timeout_allow_disable``
"""),
    cfg.BoolOpt(
        'tenant_live_migration_timeout_allow_disable',
        default=True,
        help="""
Whether image properties and instance metadata may disable the timeout
with 0. When False a 0 from those sources is ignored.

Related options:

* ``tenant_live_migration_timeout_min``
* ``tenant_live_migration_timeout_max``
"""),
    cfg.IntOpt(
        'tenant_live_migration_max_downtime_max',
        min=100,
        # NOTE(nova-stx): QEMU's downtime-limit ceiling (2000 s).
        max=2000000,
        help="""
Largest maximum downtime, in milliseconds, that image properties and
instance metadata may ask for; a larger one is lowered to this. Unset: no
bound. Flavor values (admin-set) are not bounded.

Related options:

* ``[libvirt] live_migration_downtime``
"""),
]


def register_opts(conf):
    conf.register_group(GROUP)
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]


def check_opts(conf):
    """Return problems of these options taken together (see conf.check)."""
    stx = conf.nova_stx
    low = stx.tenant_live_migration_timeout_min
    high = stx.tenant_live_migration_timeout_max
    if low > high:
        return [f'[nova_stx] tenant_live_migration_timeout_min ({low}) is '
                f'greater than tenant_live_migration_timeout_max ({high}): '
                f'set the minimum at most the maximum.']
    return []
