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

"""Can a host's CPU provide the vCPU model a guest asks for?

Pure decisions over plain data. The rules, in order:

* No model requested: every host passes.
* ``Passthrough`` needs a KVM host (``vmx`` or ``svm`` in the host's
  features). On a move it also needs the source host's model and feature
  set, because the guest already sees that CPU.
* A named model passes on a host reporting the same model.
* Within a family (:data:`nova_stx.cpu_models.FAMILIES`) a host passes
  when its model (after :data:`~nova_stx.cpu_models.HOST_MODEL_ALIASES`)
  is the guest's model or newer; an ``*-IBRS`` guest also needs IBRS on
  the host (an ``-IBRS`` model, a model newer than every ``-IBRS`` one, or
  the ``spec-ctrl`` feature).
* A host model outside every family is judged by what libvirt reports:
  its vendor must be the family's vendor and its feature list must hold
  the guest model's signature features
  (:data:`~nova_stx.cpu_models.SIGNATURE_FEATURES`).

Each check returns ``None`` when the host passes, else the reason.
"""

import dataclasses
import json
import re
import reprlib

from nova_stx import cpu_models
from nova_stx import keys

KVM_FEATURES = frozenset(('vmx', 'svm'))
_VERSION_SUFFIX = re.compile(r'-v[0-9]+$')


class MalformedCpuInfo(ValueError):
    """A host's ``cpu_info`` cannot be read."""


#: The image asks for a different model than the flavor (the rule and its
#: text are the registry's).
ConflictingModels = keys.ImageOverridesFlavor


@dataclasses.dataclass(frozen=True)
class HostCpu:
    """What a host's libvirt reports about its CPU."""

    model: str
    vendor: str = ''
    features: frozenset = frozenset()


def parse_cpu_info(cpu_info):
    """Read Nova's ``cpu_info`` (JSON text or dict) into a HostCpu.

    :param cpu_info: ``ComputeNode.cpu_info`` as the scheduler sees it.
    :returns: a :class:`HostCpu`.
    :raises MalformedCpuInfo: when it is missing, not JSON, or has no
        model.
    """
    if not cpu_info:
        raise MalformedCpuInfo('no cpu_info reported')
    if isinstance(cpu_info, str):
        try:
            cpu_info = json.loads(cpu_info)
        except RecursionError:
            raise MalformedCpuInfo('cpu_info is nested too deeply')
        except ValueError as exc:
            raise MalformedCpuInfo(f'cpu_info is not JSON: {keys.shown(exc)}')
    if not isinstance(cpu_info, dict):
        raise MalformedCpuInfo('cpu_info is not a JSON object')
    model = cpu_info.get('model')
    if not isinstance(model, str) or not model:
        raise MalformedCpuInfo(
            f'cpu_info has no CPU model: {reprlib.repr(model)}')
    features = cpu_info.get('features')
    if features is None:
        features = ()
    if not isinstance(features, (list, tuple, set, frozenset)) or not all(
            isinstance(f, str) for f in features):
        raise MalformedCpuInfo(f'cpu_info features are not a list of '
                               f'names: {reprlib.repr(features)}')
    vendor = cpu_info.get('vendor')
    if vendor is None:
        vendor = ''
    if not isinstance(vendor, str):
        raise MalformedCpuInfo(
            f'cpu_info vendor is not a name: {reprlib.repr(vendor)}')
    return HostCpu(model, vendor, frozenset(features))


def requested_model(flavor_model, image_model):
    """Return the model the guest asks for, or None.

    :param flavor_model: the flavor's ``hw:cpu_model`` or None.
    :param image_model: the image's ``hw_cpu_model`` or None.
    :raises ConflictingModels: when both are set and differ.
    """
    conflict = keys.image_override(keys.CPU_MODEL, flavor_model or None,
                                   image_model or None)
    if conflict is not None:
        raise conflict
    return flavor_model or image_model or None


def canonical_model(model):
    """Map a model name onto a family member where we can.

    :returns: the family member, or ``model`` unchanged.
    """
    model = cpu_models.HOST_MODEL_ALIASES.get(model, model)
    if family_of(model):
        return model
    base = _VERSION_SUFFIX.sub('', model)
    base = cpu_models.HOST_MODEL_ALIASES.get(base, base)
    return base if family_of(base) else model


def family_of(model):
    """Return the family name holding ``model``, or None."""
    for name, models in cpu_models.FAMILIES.items():
        if model in models:
            return name
    return None


def _rejection(host, guest, detail=None):
    text = f'Host VCPU model {host.model} required {guest}'
    return f'{text} ({detail})' if detail else text


def _has_ibrs(host, models, host_model):
    if 'IBRS' in host.model or 'spec-ctrl' in host.features:
        return True
    last_ibrs = max(i for i, m in enumerate(models) if m.endswith('-IBRS'))
    return models.index(host_model) > last_ibrs


def check_named(guest, host):
    """Check a named (not Passthrough) guest model against a host.

    :param guest: a model of :data:`nova_stx.cpu_models.FAMILIES`.
    :param host: the candidate's :class:`HostCpu`.
    :returns: None when the host can provide the model, else the reason.
    """
    if guest == host.model:
        return None
    guest = canonical_model(guest)
    family = family_of(guest)
    if family is None:
        return _rejection(host, guest, 'unknown vCPU model')
    host_model = canonical_model(host.model)
    if host_model == guest:
        return None
    models = cpu_models.FAMILIES[family]
    host_family = family_of(host_model)
    if host_family == family:
        if models.index(guest) > models.index(host_model):
            return _rejection(host, guest, 'host model is older')
        if 'IBRS' in guest and not _has_ibrs(host, models, host_model):
            return _rejection(host, guest, 'host has no IBRS')
        return None
    if host_family is not None:
        return _rejection(host, guest, f'{host_family} host, {family} '
                                       f'model')
    vendor = cpu_models.FAMILY_VENDORS[family]
    if host.vendor != vendor:
        return _rejection(host, guest, f"host vendor '{host.vendor}' is "
                                       f"not {vendor}")
    missing = cpu_models.SIGNATURE_FEATURES[guest] - host.features
    if missing:
        return _rejection(host, guest, 'host lacks features ' +
                          ','.join(sorted(missing)))
    return None


def check_passthrough(host, source=None, moving=False):
    """Check a Passthrough guest against a host.

    :param host: the candidate's :class:`HostCpu`.
    :param source: the source host's :class:`HostCpu` on a move, if known.
    :param moving: True on a live or cold migration or an evacuation.
    :returns: None when the host passes, else the reason.
    """
    if not host.features & KVM_FEATURES:
        return _rejection(host, cpu_models.PASSTHROUGH,
                          "Passthrough VCPU Model only available on 'kvm' "
                          "hosts")
    if not moving:
        return None
    if source is None:
        return _rejection(host, cpu_models.PASSTHROUGH,
                          'Passthrough cpu model migrating from unknown '
                          'host')
    if source.model != host.model or source.features != host.features:
        diff = sorted(source.features ^ host.features)
        detail = f'source host model {source.model}'
        if diff:
            detail += ', features differ: ' + ','.join(diff[:5])
        return _rejection(host, cpu_models.PASSTHROUGH, detail)
    return None


def check(guest, host, source=None, moving=False):
    """Check any requested model against a host.

    :param guest: the requested model, or None.
    :param host: the candidate's :class:`HostCpu`.
    :param source: the source host's :class:`HostCpu` on a move, if known.
    :param moving: True when the guest already runs elsewhere.
    :returns: None when the host passes, else the reason.
    """
    if not guest:
        return None
    if guest == cpu_models.PASSTHROUGH:
        return check_passthrough(host, source, moving)
    return check_named(guest, host)
