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

"""What the guest will get: its vCPU model and HPET, and from where.

Shared by ``nova-stx explain`` and ``nova-stx validate``. The decision is
the driver's own (:func:`nova_stx.virt.libvirt.guest_cpu.describe`); this
module only says it per item, so that one invalid item does not hide the
other, with the field names ``migration-plan`` uses for its values and
their sources (``vcpu_model``, ``vcpu_model_source`` ...).
"""

import dataclasses
import typing as ty

from nova_stx import keys
from nova_stx.virt.libvirt import guest_cpu

#: Nova's guest without ``hw:hpet``, as the driver leaves it.
NOVA_HPET = ("no key: Nova's default (no HPET on KVM; QEMU's, an HPET, "
             'on TCG)')


@dataclasses.dataclass(frozen=True)
class Item:
    """One thing the guest gets: its value, where it comes from, or why
    it cannot be decided."""

    #: ``vcpu_model`` or ``hpet``.
    field: str
    #: The model name, True/False for the HPET; None where Nova decides.
    value: ty.Any = None
    source: keys.Source = keys.Source.CONFIG
    #: The property that decided it, e.g. ``hw:cpu_model``.
    name: ty.Optional[str] = None
    #: libvirt's ``<cpu mode>`` for a model.
    cpu_mode: ty.Optional[str] = None
    #: Why nothing can be decided (a conflict or an invalid value).
    error: ty.Optional[str] = None

    @property
    def text(self):
        """The value as properties spell it (``true``), or None."""
        if isinstance(self.value, bool):
            return str(self.value).lower()
        return self.value

    @property
    def detail(self):
        """One line: where the value comes from and what it does."""
        if self.error:
            return self.error
        if self.field == 'vcpu_model':
            if self.value is None:
                return (f"no key: Nova's {keys.CPU_MODEL.default} applies")
            return f'{self.cpu_mode} mode, from {self.source} {self.name}'
        if self.value is None:
            return NOVA_HPET
        if self.source is keys.Source.IMAGE:
            return f'from image {self.name} (Nova applies it on KVM only)'
        return f'from flavor {self.name} (x86 guests)'


def _names(key):
    """The flavor and image properties the decision about ``key`` reads."""
    image = key.image or key.overrides_nova
    return key.flavor, image


def _only(props, name):
    return {name: props[name]} if name in props else {}


def _item(field, key, flavor, image, read):
    """Decide one item from the properties its key's decision reads.

    :param read: ``Effects -> (value, source, cpu_mode)``.
    """
    flavor_name, image_name = _names(key)
    try:
        effects = guest_cpu.describe(_only(flavor, flavor_name),
                                     _only(image, image_name))
    except keys.InvalidValue as exc:
        return Item(field, error=str(exc))
    value, source, cpu_mode = read(effects)
    name = {keys.Source.FLAVOR: flavor_name,
            keys.Source.IMAGE: image_name}.get(source)
    return Item(field, value, source, name, cpu_mode)


def describe(flavor, image):
    """Return the guest's :class:`Item` for its vCPU model and its HPET.

    Each is decided apart, so that a conflict on the model leaves the
    HPET decided, and the other way round.

    :param flavor: flavor extra specs, ``{name: value}``.
    :param image: image properties, ``{name: value}``.
    :returns: ``[vcpu_model item, hpet item]``.
    """
    return [
        _item('vcpu_model', keys.CPU_MODEL, flavor, image,
              lambda e: (e.model, e.model_source, e.cpu_mode)),
        _item('hpet', keys.HPET_ENABLED, flavor, image,
              lambda e: (e.hpet, e.hpet_source, None)),
    ]


def _guest_keys():
    return [key for key in keys.KEYS
            if any(c.effect is keys.Effect.GUEST
                   for c in keys.consumers(key))]


def reads(flavor, image):
    """Whether any of these properties changes what the guest gets.

    The keys are those the registry says the driver consumes for the
    guest (:data:`nova_stx.keys.CONSUMERS`), with Nova's properties they
    override.
    """
    for key in _guest_keys():
        flavor_name, image_name = _names(key)
        if flavor_name in flavor or image_name in image:
            return True
    return False


def errors(items):
    """The texts of the items that cannot be decided."""
    return [item.error for item in items if item.error]


def fields(items):
    """Return ``{field: value, field_source: source}`` (+ ``cpu_mode``).

    The shape ``migration-plan`` gives its values: None where Nova's
    own setting applies, the source (``flavor``, ``image``, ``config``)
    beside it.
    """
    result = {}
    for item in items:
        result[item.field] = item.value
        if item.field == 'vcpu_model':
            result['cpu_mode'] = item.cpu_mode
        result[f'{item.field}_source'] = str(item.source)
    return result
