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

"""What vCPU model and HPET the nova-stx keys give a guest.

Pure decisions over plain data; the driver
(:class:`nova_stx.virt.libvirt.driver.LibvirtDriver`) reads the instance,
asks libvirt what the host can run and edits Nova's guest config.

vCPU model (``hw:cpu_model``, image ``hw_cpu_model``):

* The flavor's value, else the image's (on the compute node the image
  property is in the instance's system metadata). Both set and different:
  :class:`Conflict`.
* ``Passthrough``: ``host-passthrough``. A named model: ``custom`` mode
  with that model, spelled as libvirt spells it; when the host's libvirt
  cannot run the model but can run its TSX-free variant
  (:data:`nova_stx.cpu_models.TSX_FREE_VARIANTS`, e.g. ``Haswell-noTSX``
  for ``Haswell``), the variant, as StarlingX treated the two as one.
* A guest backed by 1 GiB pages also gets ``pdpe1gb`` (required).
* Named models are x86 models: an emulated non-x86 guest cannot have one.

HPET (``hw:hpet``): ``true`` or ``false`` sets the x86 guest's HPET
timer, overriding Nova's image property ``hw_time_hpet``; on other
architectures it is ignored with a warning (only x86 has an HPET), as
Nova ignores ``hw_time_hpet`` there.
"""

import dataclasses
import typing as ty
import xml.etree.ElementTree as ElementTree

from oslo_utils import strutils

from nova_stx import cpu_models
from nova_stx import keys

PASSTHROUGH_MODE = 'host-passthrough'
CUSTOM_MODE = 'custom'
X86_ARCHES = ('i686', 'x86_64')
#: Nova's guest page size for 1 GiB pages, in KiB.
ONE_GIB_KIB = 1024 * 1024
PDPE1GB = 'pdpe1gb'
#: libvirt types whose guests can be given a CPU model and timers.
MODEL_VIRT_TYPES = ('kvm', 'qemu')


#: The image asks for another vCPU model than the flavor (the rule and
#: its text are the registry's).
Conflict = keys.ImageOverridesFlavor


@dataclasses.dataclass(frozen=True)
class Effects:
    """What the nova-stx keys give a guest, and where each comes from.

    ``model`` is None when no key asks for one: Nova's ``[libvirt]
    cpu_mode`` applies (``model_source`` is then ``Source.CONFIG``).
    ``hpet`` is the flavor's ``hw:hpet`` (source ``FLAVOR``), else Nova's
    reading of the image's ``hw_time_hpet`` (source ``IMAGE``; Nova
    applies it on KVM only), else None (source ``CONFIG``: Nova's default,
    no HPET on KVM, QEMU's default, an HPET, on TCG).
    """

    model: ty.Optional[str] = None
    model_source: keys.Source = keys.Source.CONFIG
    hpet: ty.Optional[bool] = None
    hpet_source: keys.Source = keys.Source.CONFIG

    @property
    def cpu_mode(self):
        """libvirt's ``<cpu mode>`` the model gives, or None (Nova's)."""
        if self.model is None:
            return None
        if self.model == cpu_models.PASSTHROUGH:
            return PASSTHROUGH_MODE
        return CUSTOM_MODE

    @property
    def sets_hpet(self):
        """Whether nova-stx (not Nova) decides the HPET timer."""
        return self.hpet_source is keys.Source.FLAVOR

    @property
    def any(self):
        """Whether a nova-stx key changes the guest at all."""
        return self.model is not None or self.sets_hpet


def describe(flavor_props, image_props):
    """Say what the guest will get from the keys, before it is built.

    :param flavor_props: flavor extra specs, ``{name: value}``.
    :param image_props: image properties without the ``image_`` prefix,
        ``{name: value}``.
    :returns: an :class:`Effects`.
    :raises Conflict: the flavor and the image ask for different models;
        the text names both keys and both values.
    :raises keys.InvalidValue: a value breaks its key's rule.
    """
    model, model_source = _model(flavor_props, image_props)
    hpet, hpet_source = _hpet(flavor_props, image_props)
    return Effects(model, model_source, hpet, hpet_source)


def _model(flavor_props, image_props):
    key = keys.CPU_MODEL
    flavor = flavor_props.get(key.flavor)
    image = image_props.get(key.image)
    for source, value in ((keys.Source.FLAVOR, flavor),
                          (keys.Source.IMAGE, image)):
        if value is not None:
            key.parse(value, source)
    conflict = keys.image_override(key, flavor, image)
    if conflict is not None:
        raise conflict
    if flavor is not None:
        return flavor, keys.Source.FLAVOR
    if image is not None:
        return image, keys.Source.IMAGE
    return None, keys.Source.CONFIG


def _hpet(flavor_props, image_props):
    key = keys.HPET_ENABLED
    if flavor_props.get(key.flavor) is not None:
        return key.parse(flavor_props[key.flavor]), keys.Source.FLAVOR
    image = image_props.get(key.overrides_nova)
    if image is not None:
        # NOTE(nova-stx): Nova's field is a flexible boolean.
        return strutils.bool_from_string(image), keys.Source.IMAGE
    return None, keys.Source.CONFIG


@dataclasses.dataclass(frozen=True)
class CpuPlan:
    """The ``<cpu>`` a requested model asks for.

    ``models`` are the libvirt spellings to try, in order (empty for
    ``host-passthrough``); ``features`` are added with policy ``require``.
    """

    mode: str
    models: tuple = ()
    features: tuple = ()


class NotApplicable(ValueError):
    """The request cannot apply to this guest whatever the host."""


def cpu_plan(model, page_sizes_kib=(), guest_arch='x86_64',
             host_arch='x86_64'):
    """Return the :class:`CpuPlan` for a requested model.

    :param model: ``Passthrough`` or a model of
        :data:`nova_stx.cpu_models.SUPPORTED_MODELS`.
    :param page_sizes_kib: the page sizes backing the guest's NUMA cells.
    :param guest_arch: the guest's architecture (Nova's name).
    :param host_arch: the host's architecture.
    :raises NotApplicable: a named model for a non-x86 guest, or
        Passthrough for an emulated guest.
    """
    if model == cpu_models.PASSTHROUGH:
        if guest_arch != host_arch:
            raise NotApplicable(
                f"{keys.CPU_MODEL.flavor} '{model}' needs the guest to run "
                f'on the host CPU; the guest architecture {guest_arch} is '
                f'emulated on {host_arch}')
        return CpuPlan(PASSTHROUGH_MODE)
    if guest_arch not in X86_ARCHES:
        raise NotApplicable(
            f"{keys.CPU_MODEL.flavor} '{model}' is an x86 model; the guest "
            f'architecture is {guest_arch}')
    spellings = (model,)
    variant = cpu_models.TSX_FREE_VARIANTS.get(model)
    if variant:
        spellings += (variant,)
    features = (PDPE1GB,) if ONE_GIB_KIB in set(page_sizes_kib) else ()
    return CpuPlan(CUSTOM_MODE, spellings, features)


def hpet_timer(effects, guest_arch, virt_type):
    """Return ``(present, warning)`` for the guest's HPET timer.

    :param effects: the guest's :class:`Effects`.
    :param guest_arch: the guest's architecture (Nova's name).
    :param virt_type: ``[libvirt] virt_type``.
    :returns: ``present`` is True/False to set ``<timer name='hpet'>``,
        or None to leave Nova's clock as it is; ``warning`` says why a
        set key was not applied, else None.
    """
    if not effects.sets_hpet:
        return None, None
    name = f"{keys.HPET_ENABLED.flavor}={str(effects.hpet).lower()}"
    if guest_arch not in X86_ARCHES:
        return None, (f'{name} ignored: only x86 guests have an HPET '
                      f'(guest architecture {guest_arch})')
    if virt_type not in MODEL_VIRT_TYPES:
        return None, (f'{name} ignored: libvirt virt type {virt_type} has '
                      f'no guest timers')
    return effects.hpet, None


def hpet_override_note(effects, image_hpet):
    """Say when the flavor's HPET overrides a different image value.

    :param image_hpet: Nova's reading of the image's ``hw_time_hpet``.
    :returns: the text to log, or None.
    """
    if not effects.sets_hpet or image_hpet is None or (
            image_hpet == effects.hpet):
        return None
    key = keys.HPET_ENABLED
    return (f"flavor {key.flavor}={str(effects.hpet).lower()} overrides "
            f"image {key.overrides_nova}={str(image_hpet).lower()}")


def passthrough_supported(domain_caps_xml):
    """Whether libvirt's domain capabilities offer ``host-passthrough``.

    :param domain_caps_xml: ``virConnectGetDomainCapabilities`` output for
        the guest's architecture and virt type.
    """
    root = ElementTree.fromstring(domain_caps_xml)
    for mode in root.iterfind('./cpu/mode'):
        if mode.get('name') == PASSTHROUGH_MODE:
            return mode.get('supported') == 'yes'
    return False


def runs(compare_result):
    """Whether a ``virConnectCompareHypervisorCPU`` result means "can run".

    libvirt answers -1 (error), 0 (incompatible), 1 (identical) or 2
    (the hypervisor's CPU is a superset of the guest's).
    """
    return compare_result is not None and compare_result > 0
