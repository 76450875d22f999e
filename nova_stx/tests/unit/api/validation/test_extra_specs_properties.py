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

"""Our validators through Nova's validation module, on generated values."""

import hypothesis
from hypothesis import strategies as st
from nova.api.validation.extra_specs import validators
from nova import exception
from oslotest import base

from nova_stx import keys
from nova_stx.tests.unit import properties

FLAVOR_KEYS = [k for k in keys.KEYS if k.flavor]


class ValidatorPropertiesTest(base.BaseTestCase):

    @properties.settings(500)
    @hypothesis.given(st.sampled_from(FLAVOR_KEYS),
                      st.one_of(properties.integer_texts,
                                properties.near_integers,
                                st.text(max_size=40)))
    def test_accepts_exactly_what_the_rule_accepts(self, key, value):
        # Nova's API hands validators the extra spec as a string.
        try:
            validators.validate(key.flavor, value)
            accepted = True
        except exception.ValidationError as exc:
            accepted = False
            text = str(exc)
            self.assertIn(f'{key.flavor} must be', text)
            self.assertLessEqual(len(text), len(key.rule_text) + 200, text)
        if key.kind is keys.Kind.INTEGER:
            expected = properties.expected_integer(key, value) is not None
        elif key.kind is keys.Kind.BOOLEAN:
            expected = value.lower() in ('true', 'false')
        else:
            expected = value in key.choices
        self.assertEqual(expected, accepted, keys.shown(value))
