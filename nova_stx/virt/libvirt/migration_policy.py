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

"""Per-instance live-migration limits, decided from plain data.

:func:`plan` turns flavor extra specs, image properties, instance metadata,
the guest's data size and :class:`Settings` into a :class:`MigrationPlan`:
the effective maximum downtime and timeout, where each came from, the
downtime ramp, the timeout action and per-instance migration flags. Nothing
here reads ``CONF`` or talks to libvirt; :meth:`Settings.from_conf` (in
:mod:`~nova_stx.virt.libvirt.migration_settings`) is the one place that
reads options.

Values that break a key's rule are never used raw: an integer timeout out
of range is clamped to it, an integer max downtime above QEMU's ceiling is
lowered to it (whatever the source, options included), anything else
invalid is ignored, and each such decision is a warning in
:attr:`MigrationPlan.warnings` naming the key, the value and the rule
(the per-source cleaning is in
:mod:`~nova_stx.virt.libvirt.migration_values`).

Whether nova-stx steers a migration at all is :attr:`MigrationPlan.
supervised`: with the ``nova`` controller (the default) a migration no key
applies to runs under Nova's own monitor, untouched.
"""

import dataclasses
import math
import typing as ty

from nova_stx import keys
from nova_stx.virt.libvirt import downtime_ramp
from nova_stx.virt.libvirt import migration_settings
from nova_stx.virt.libvirt import migration_values

ABORT = migration_settings.ABORT
FORCE_COMPLETE = migration_settings.FORCE_COMPLETE

#: ``[nova_stx] live_migration_controller`` values.
NOVA = migration_settings.NOVA
STARLINGX = migration_settings.STARLINGX
SLA = migration_settings.SLA
CONTROLLERS = migration_settings.CONTROLLERS

#: The operator's options, see
#: :class:`~nova_stx.virt.libvirt.migration_settings.Settings`.
Settings = migration_settings.Settings

#: Sources a tenant controls; the operator's ``tenant_*`` bounds apply.
TENANT_SOURCES = migration_values.TENANT_SOURCES

_TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT
_DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME
#: QEMU's ceiling for ``downtime-limit``, ms (the registry's maximum).
QEMU_MAX_DOWNTIME_MS = migration_values.QEMU_MAX_DOWNTIME_MS
#: Plan sources that are a key set on the flavor, image or instance.
_KEY_SOURCES = tuple(str(s) for s in (keys.Source.FLAVOR, keys.Source.IMAGE,
                                      keys.Source.INSTANCE))


@dataclasses.dataclass(frozen=True)
class MigrationPlan:
    """What one live migration must honour."""

    #: The maximum downtime the ramp ends at, ms.
    max_downtime_ms: int
    #: Seconds after which the timeout action runs; 0: never.
    timeout_s: int
    #: :data:`ABORT` or :data:`FORCE_COMPLETE`.
    timeout_action: str
    #: ``((seconds, ms), ...)``: from ``seconds`` elapsed on, allow ``ms``.
    steps: tuple[tuple[int, int], ...]
    #: Per-instance auto-converge; None: the host's setting.
    auto_converge: ty.Optional[bool] = None
    #: Per-instance tunnelling; None: the host's setting.
    tunnelled: ty.Optional[bool] = None
    #: Whether force-complete switches to post-copy (else it pauses).
    post_copy: bool = False
    #: The ramp that produced :attr:`steps`.
    ramp: str = downtime_ramp.STARLINGX
    #: The controller that steers the migration, see :data:`CONTROLLERS`.
    controller: str = NOVA
    #: ``{field: source}`` for max_downtime_ms, timeout_s, auto_converge
    #: and tunnelled; sources are ``flavor``, ``image``, ``instance``,
    #: ``config`` (nova-stx or Nova option) or ``host`` (host flags).
    sources: ty.Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: Ignored or adjusted values, each naming key, value and rule.
    warnings: tuple[str, ...] = ()
    #: Whether the operator set a nova-stx default for the limits
    #: (``[nova_stx] live_migration_timeout`` or ``_timeout_action``).
    configured: bool = False

    @property
    def limits_keyed(self):
        """Whether a key set the max downtime or the timeout."""
        return any(self.sources.get(field) in _KEY_SOURCES
                   for field in ('max_downtime_ms', 'timeout_s'))

    @property
    def flags_keyed(self):
        """Whether a key set auto-converge or tunnelling."""
        return any(self.sources.get(field) in _KEY_SOURCES
                   for field in ('auto_converge', 'tunnelled'))

    @property
    def supervised(self):
        """Whether nova-stx steers the migration's downtime and timeout.

        False only for the ``nova`` controller with no key for the limits
        and no nova-stx timeout option set: Nova's own monitor then runs
        exactly as without nova-stx. Setting one of those options is the
        operator's opt-in, as a key is the tenant's.
        """
        return (self.controller != NOVA or self.limits_keyed or
                self.configured)

    def downtime_at(self, elapsed):
        """Return the downtime allowed after ``elapsed`` seconds.

        Like Nova, a step applies once ``elapsed`` is past its start.

        :param elapsed: seconds since the migration started.
        :returns: ms, or None before the first step.
        """
        current = None
        for start, ms in self.steps:
            if elapsed > start:
                current = ms
        return current

    def timed_out(self, elapsed):
        """Return whether ``elapsed`` seconds exceed the timeout."""
        return bool(self.timeout_s) and elapsed > self.timeout_s

    def to_dict(self):
        """Return the plan as JSON-ready plain data."""
        return {
            'max_downtime_ms': self.max_downtime_ms,
            'timeout_s': self.timeout_s,
            'timeout_action': self.timeout_action,
            'post_copy': self.post_copy,
            'auto_converge': self.auto_converge,
            'tunnelled': self.tunnelled,
            'ramp': self.ramp,
            'controller': self.controller,
            'supervised': self.supervised,
            'steps': [list(step) for step in self.steps],
            'sources': dict(self.sources),
            'warnings': list(self.warnings),
        }


def data_gb(ram_mb, disk_gb=()):
    """Return the data size Nova scales its ramp and timeout by.

    Mirrors Nova's ``LibvirtDriver._live_migration_data_gb``: RAM and each
    migrated local disk count at least 2 GiB.

    :param ram_mb: guest RAM in MiB.
    :param disk_gb: sizes in GiB of the disks copied (block migration).
    :returns: GiB, a float.
    """
    return max(2.0, ram_mb / 1024.0) + sum(max(2.0, d) for d in disk_gb)


def _check_gib(gib):
    if (isinstance(gib, bool) or not isinstance(gib, (int, float)) or
            not math.isfinite(gib) or gib < 0):
        raise ValueError(f'the guest data size must be a finite number of '
                         f'GiB of at least 0, got {gib!r}')


def plan(flavor_specs, image_props, instance_meta, gib, settings):
    """Decide the limits of one live migration.

    :param flavor_specs: the flavor's extra specs, ``{name: str}``.
    :param image_props: image properties without Nova's ``image_``
        system-metadata prefix, ``{name: str}``.
    :param instance_meta: the instance's metadata, ``{name: str}``.
    :param gib: guest data size in GiB, see :func:`data_gb`.
    :param settings: a :class:`Settings`.
    :returns: a :class:`MigrationPlan`.
    :raises ValueError: when ``gib`` is not a finite number >= 0, or the
        settings cannot make a ramp (e.g. fewer than one step).
    """
    _check_gib(gib)
    sources = {keys.Source.FLAVOR: flavor_specs or {},
               keys.Source.IMAGE: image_props or {},
               keys.Source.INSTANCE: instance_meta or {}}
    warnings = []

    timeouts = migration_values.collect(
        _TIMEOUT, sources, migration_values.timeout_value, settings,
        warnings)
    if settings.timeout_s is not None:
        config_timeout = settings.timeout_s
    else:
        config_timeout = int(settings.completion_timeout_per_gib * gib)
    timeout = keys.resolve(_TIMEOUT, timeouts, config_timeout)

    downtimes = migration_values.collect(
        _DOWNTIME, sources, migration_values.downtime_value, settings,
        warnings)
    downtime = keys.resolve(
        _DOWNTIME, downtimes,
        migration_values.config_downtime(settings, warnings))

    auto_converge, auto_converge_source = migration_values.flag(
        keys.LIVE_MIGRATION_AUTO_CONVERGE, sources, warnings)
    tunnelled, tunnelled_source = migration_values.flag(
        keys.LIVE_MIGRATION_TUNNEL, sources, warnings)

    max_ms = downtime.value
    steps = downtime_ramp.steps(
        settings.ramp, max_ms, timeout.value, settings.downtime_steps,
        settings.downtime_delay_s, gib)

    return MigrationPlan(
        max_downtime_ms=max_ms,
        timeout_s=timeout.value,
        timeout_action=settings.timeout_action or settings.nova_timeout_action,
        steps=steps,
        auto_converge=auto_converge,
        tunnelled=tunnelled,
        post_copy=settings.permit_post_copy,
        ramp=settings.ramp,
        controller=settings.controller,
        sources={'max_downtime_ms': str(downtime.source),
                 'timeout_s': str(timeout.source),
                 'auto_converge': auto_converge_source,
                 'tunnelled': tunnelled_source},
        warnings=tuple(warnings),
        configured=(settings.timeout_s is not None or
                    settings.timeout_action is not None))


def strip_image_prefix(system_metadata, prefix='image_'):
    """Return image properties as Nova keeps them on an instance.

    :param system_metadata: ``instance.system_metadata``.
    :param prefix: Nova's prefix for image properties.
    :returns: ``{property: value}``.
    """
    return {k[len(prefix):]: v for k, v in (system_metadata or {}).items()
            if k.startswith(prefix)}
