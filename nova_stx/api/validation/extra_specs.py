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

"""Validators for Nova's strict extra-spec validation (microversion 2.86+).

Loaded by nova-api through the ``nova.api.extra_spec_validators`` entry
point; :func:`register` returns one validator per flavor key of the
registry. Values are checked with the registry's own parser, so the API
answers with the same texts as ``nova-stx validate``.
"""

from nova.api.validation.extra_specs import base
from nova import exception

from nova_stx import keys

_VALUE_TYPES = {
    keys.Kind.INTEGER: int,
    keys.Kind.BOOLEAN: bool,
    keys.Kind.ENUM: str,
}


class RegistryValidator(base.ExtraSpecValidator):
    """An extra-spec validator whose rule is a registry key's."""

    def __init__(self, key):
        value = {'type': _VALUE_TYPES[key.kind],
                 'description': key.rule_text}
        if key.kind is keys.Kind.INTEGER:
            bounds = (('min', key.minimum), ('max', key.maximum))
            value.update({k: v for k, v in bounds if v is not None})
        elif key.kind is keys.Kind.ENUM:
            value['enum'] = list(key.choices)
        super().__init__(name=key.flavor, description=key.help, value=value)
        self.key = key

    def validate(self, name, value):
        try:
            self.key.parse(value, keys.Source.FLAVOR)
        except keys.InvalidValue as exc:
            raise exception.ValidationError(str(exc))


def register():
    return [RegistryValidator(key) for key in keys.KEYS if key.flavor]
