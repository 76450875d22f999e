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
here reads ``CONF`` or talks to libvirt; :meth:`Settings.from_conf` is the
one place that reads options.

Values that break a key's rule are never used raw: an integer timeout out
of range is clamped to it, an integer max downtime above QEMU's ceiling is
lowered to it (whatever the source, options included), anything else
invalid is ignored, and each such decision is a warning in
:attr:`MigrationPlan.warnings` naming the key, the value and the rule.

Whether nova-stx steers a migration at all is :attr:`MigrationPlan.
supervised`: with the ``nova`` controller (the default) a migration no key
applies to runs under Nova's own monitor, untouched.
"""

import dataclasses
import math
import typing as ty

from nova_stx import keys
from nova_stx.virt.libvirt import downtime_ramp

ABORT = 'abort'
FORCE_COMPLETE = 'force_complete'

#: ``[nova_stx] live_migration_controller`` values.
NOVA = 'nova'
STARLINGX = 'starlingx'
SLA = 'sla'
CONTROLLERS = (NOVA, STARLINGX, SLA)

#: Sources a tenant controls; the operator's ``tenant_*`` bounds apply.
TENANT_SOURCES = (keys.Source.IMAGE, keys.Source.INSTANCE)

_TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT
_DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME
#: QEMU's ceiling for ``downtime-limit``, ms (the registry's maximum).
QEMU_MAX_DOWNTIME_MS = _DOWNTIME.maximum
#: Plan sources that are a key set on the flavor, image or instance.
_KEY_SOURCES = tuple(str(s) for s in (keys.Source.FLAVOR, keys.Source.IMAGE,
                                      keys.Source.INSTANCE))


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


def _warning(exc, outcome):
    return f'{exc} {outcome}'


def _above(digits, bound):
    """Whether ``integer_digits``' magnitude ``digits`` is above ``bound``.

    Text digits are compared by length first: never int() an over-long
    text.
    """
    if isinstance(digits, int):
        return digits > bound
    if len(digits) != len(str(bound)):
        return len(digits) > len(str(bound))
    return int(digits) > bound


def _timeout_value(raw, source, settings, warnings):
    """Return one source's timeout made safe, or None to ignore it."""
    name = _TIMEOUT.name_in(source)
    text = keys.shown(raw)
    try:
        value = _TIMEOUT.parse(raw, source)
    except keys.InvalidValue as exc:
        # NOTE(nova-stx): StarlingX's driver used an out-of-range timeout
        # raw. A positive integer is clamped into the range, so the
        # smallest-non-zero rule still honours the intent of a too short
        # or too long value; anything else cannot be trusted and is
        # ignored.
        split = keys.integer_digits(raw)
        if split is None or split[0] or not split[1]:
            warnings.append(_warning(exc, 'Ignored.'))
            return None
        value = _TIMEOUT.maximum
        if not _above(split[1], value):
            value = max(int(split[1]), _TIMEOUT.minimum)
        warnings.append(_warning(exc, f'Using {value}.'))
    if source not in TENANT_SOURCES:
        return value
    if value == 0:
        if not settings.tenant_timeout_allow_disable:
            warnings.append(
                f"{name} 0 (no timeout) is not permitted for image "
                f"properties and instance metadata by [nova_stx] "
                f"tenant_live_migration_timeout_allow_disable; got '{text}'."
                f" Ignored.")
            return None
        return value
    bounded = min(max(value, settings.tenant_timeout_min),
                  settings.tenant_timeout_max)
    if bounded != value:
        warnings.append(
            f"{name} must be in the range {settings.tenant_timeout_min} to "
            f"{settings.tenant_timeout_max} for image properties and "
            f"instance metadata ([nova_stx] tenant_live_migration_timeout_"
            f"min/max); got '{text}'. Using {bounded}.")
    return bounded


def _downtime_value(raw, source, settings, warnings):
    """Return one source's max downtime made safe, or None to ignore it."""
    try:
        value = _DOWNTIME.parse(raw, source)
    except keys.InvalidValue as exc:
        # NOTE(nova-stx): an integer above QEMU's ceiling asks for the
        # longest downtime there is; QEMU would refuse it, so it gets the
        # ceiling. Anything else invalid is ignored.
        split = keys.integer_digits(raw)
        if (split is None or split[0] or
                not _above(split[1], _DOWNTIME.maximum)):
            warnings.append(_warning(exc, 'Ignored.'))
            return None
        value = _DOWNTIME.maximum
        warnings.append(_warning(exc, f'Using {value}.'))
    limit = settings.tenant_downtime_max
    if source in TENANT_SOURCES and limit is not None and value > limit:
        warnings.append(
            f"{_DOWNTIME.name_in(source)} must be less than or equal to "
            f"{limit} for image properties and instance metadata "
            f"([nova_stx] tenant_live_migration_max_downtime_max); got "
            f"'{keys.shown(raw)}'. Using {limit}.")
        return limit
    return value


def _config_downtime(settings, warnings):
    """Return ``[libvirt] live_migration_downtime`` within QEMU's ceiling."""
    value = settings.downtime_ms
    if value > QEMU_MAX_DOWNTIME_MS:
        warnings.append(
            f'[libvirt] live_migration_downtime must be less than or equal '
            f"to QEMU's maximum downtime of {QEMU_MAX_DOWNTIME_MS} ms; got "
            f"'{value}'. Using {QEMU_MAX_DOWNTIME_MS}.")
        return QEMU_MAX_DOWNTIME_MS
    return value


def _check_gib(gib):
    if (isinstance(gib, bool) or not isinstance(gib, (int, float)) or
            not math.isfinite(gib) or gib < 0):
        raise ValueError(f'the guest data size must be a finite number of '
                         f'GiB of at least 0, got {gib!r}')


def _collect(key, sources, clean, settings, warnings):
    """Return ``{Source: safe value}`` for the sources that set ``key``."""
    found = {}
    for source, props in sources.items():
        name = key.name_in(source)
        if name and props.get(name) is not None:
            value = clean(props[name], source, settings, warnings)
            if value is not None:
                found[source] = value
    return found


def _flag(key, sources, warnings):
    raw = {source: props.get(key.name_in(source))
           for source, props in sources.items() if key.name_in(source)}
    result = keys.resolve(key, raw)
    warnings.extend(_warning(exc, 'Ignored.') for exc in result.ignored)
    if result.source is keys.Source.CONFIG:
        return None, 'host'
    return result.value, str(result.source)


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

    timeouts = _collect(_TIMEOUT, sources, _timeout_value, settings,
                        warnings)
    if settings.timeout_s is not None:
        config_timeout = settings.timeout_s
    else:
        config_timeout = int(settings.completion_timeout_per_gib * gib)
    timeout = keys.resolve(_TIMEOUT, timeouts, config_timeout)

    downtimes = _collect(_DOWNTIME, sources, _downtime_value, settings,
                         warnings)
    downtime = keys.resolve(_DOWNTIME, downtimes,
                            _config_downtime(settings, warnings))

    auto_converge, auto_converge_source = _flag(
        keys.LIVE_MIGRATION_AUTO_CONVERGE, sources, warnings)
    tunnelled, tunnelled_source = _flag(
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
