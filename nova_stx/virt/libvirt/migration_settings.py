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

"""The operator's options the live-migration policy depends on.

:class:`Settings` holds them as plain data, with the values the timeout
action and the controller options take; :meth:`Settings.from_conf` is
the one place that reads them from a config object.
:func:`~nova_stx.virt.libvirt.migration_policy.plan` decides from them.
"""

import dataclasses
import typing as ty

from nova_stx.virt.libvirt import downtime_ramp

ABORT = 'abort'
FORCE_COMPLETE = 'force_complete'

#: ``[nova_stx] live_migration_controller`` values.
NOVA = 'nova'
STARLINGX = 'starlingx'
SLA = 'sla'
CONTROLLERS = (NOVA, STARLINGX, SLA)


@dataclasses.dataclass(frozen=True)
class Settings:
    """The operator's options the policy depends on."""

    #: ``[libvirt] live_migration_downtime``, ms.
    downtime_ms: int = 500
    #: ``[libvirt] live_migration_downtime_steps``.
    downtime_steps: int = 10
    #: ``[libvirt] live_migration_downtime_delay``, s per GiB.
    downtime_delay_s: int = 75
    #: ``[libvirt] live_migration_completion_timeout``, s per GiB.
    completion_timeout_per_gib: int = 800
    #: ``[libvirt] live_migration_timeout_action``.
    nova_timeout_action: str = ABORT
    #: ``[libvirt] live_migration_permit_post_copy``.
    permit_post_copy: bool = False
    #: ``[nova_stx] live_migration_timeout``, s; None: Nova's per GiB.
    timeout_s: ty.Optional[int] = None
    #: ``[nova_stx] live_migration_timeout_action``; None: Nova's.
    timeout_action: ty.Optional[str] = None
    #: ``[nova_stx] live_migration_downtime_ramp``.
    ramp: str = downtime_ramp.STARLINGX
    #: ``[nova_stx] live_migration_controller``.
    controller: str = NOVA
    #: ``[nova_stx] tenant_live_migration_timeout_min``, s.
    tenant_timeout_min: int = 120
    #: ``[nova_stx] tenant_live_migration_timeout_max``, s.
    tenant_timeout_max: int = 800
    #: ``[nova_stx] tenant_live_migration_timeout_allow_disable``.
    tenant_timeout_allow_disable: bool = True
    #: ``[nova_stx] tenant_live_migration_max_downtime_max``, ms or None.
    tenant_downtime_max: ty.Optional[int] = None

    @classmethod
    def from_conf(cls, conf):
        """Read the settings from a config object.

        :param conf: an ``oslo_config.cfg.ConfigOpts`` with Nova's
            ``[libvirt]`` and nova-stx's ``[nova_stx]`` options registered.
        :returns: a :class:`Settings`.
        """
        lv = conf.libvirt
        stx = conf.nova_stx
        return cls(
            downtime_ms=lv.live_migration_downtime,
            downtime_steps=lv.live_migration_downtime_steps,
            downtime_delay_s=lv.live_migration_downtime_delay,
            completion_timeout_per_gib=lv.live_migration_completion_timeout,
            nova_timeout_action=lv.live_migration_timeout_action,
            permit_post_copy=lv.live_migration_permit_post_copy,
            timeout_s=stx.live_migration_timeout,
            timeout_action=stx.live_migration_timeout_action,
            ramp=stx.live_migration_downtime_ramp,
            controller=stx.live_migration_controller,
            tenant_timeout_min=stx.tenant_live_migration_timeout_min,
            tenant_timeout_max=stx.tenant_live_migration_timeout_max,
            tenant_timeout_allow_disable=(
                stx.tenant_live_migration_timeout_allow_disable),
            tenant_downtime_max=stx.tenant_live_migration_max_downtime_max)
