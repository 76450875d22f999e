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

"""Live-migration key values from each source, made safe for a plan.

:func:`collect` gathers one key's value from the flavor, image and
instance; :func:`timeout_value` and :func:`downtime_value` clean one
source's value (clamped, lowered to QEMU's ceiling, bounded for tenants
or ignored), :func:`config_downtime` does the same for ``[libvirt]
live_migration_downtime`` and :func:`flag` resolves a boolean key. Each
adjustment appends a warning naming the key, the value and the rule.
:func:`~nova_stx.virt.libvirt.migration_policy.plan` puts them together.
"""

from nova_stx import keys

#: Sources a tenant controls; the operator's ``tenant_*`` bounds apply.
TENANT_SOURCES = (keys.Source.IMAGE, keys.Source.INSTANCE)

_TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT
_DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME
#: QEMU's ceiling for ``downtime-limit``, ms (the registry's maximum).
QEMU_MAX_DOWNTIME_MS = _DOWNTIME.maximum


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


def timeout_value(raw, source, settings, warnings):
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


def downtime_value(raw, source, settings, warnings):
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


def config_downtime(settings, warnings):
    """Return ``[libvirt] live_migration_downtime`` within QEMU's ceiling."""
    value = settings.downtime_ms
    if value > QEMU_MAX_DOWNTIME_MS:
        warnings.append(
            f'[libvirt] live_migration_downtime must be less than or equal '
            f"to QEMU's maximum downtime of {QEMU_MAX_DOWNTIME_MS} ms; got "
            f"'{value}'. Using {QEMU_MAX_DOWNTIME_MS}.")
        return QEMU_MAX_DOWNTIME_MS
    return value


def collect(key, sources, clean, settings, warnings):
    """Return ``{Source: safe value}`` for the sources that set ``key``."""
    found = {}
    for source, props in sources.items():
        name = key.name_in(source)
        if name and props.get(name) is not None:
            value = clean(props[name], source, settings, warnings)
            if value is not None:
                found[source] = value
    return found


def flag(key, sources, warnings):
    """Return a flag key's ``(value, source)``, warning of ignored values.

    :returns: ``(None, 'host')`` when no source sets a valid value, so
        the host's setting applies.
    """
    raw = {source: props.get(key.name_in(source))
           for source, props in sources.items() if key.name_in(source)}
    result = keys.resolve(key, raw)
    warnings.extend(_warning(exc, 'Ignored.') for exc in result.ignored)
    if result.source is keys.Source.CONFIG:
        return None, 'host'
    return result.value, str(result.source)
