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

"""Properties of the registry's parser: a valid value or a clear error."""

import dataclasses
import decimal

import hypothesis
from hypothesis import strategies as st
from oslotest import base

from nova_stx import keys
from nova_stx.tests.unit import properties

INTEGER_KEYS = [k for k in keys.KEYS if k.kind is keys.Kind.INTEGER]
#: The same keys without an upper bound, for the digit limit.
UNBOUNDED = [dataclasses.replace(k, maximum=None, zero_disables=False)
             for k in INTEGER_KEYS]
SOURCES = (keys.Source.FLAVOR, keys.Source.IMAGE, keys.Source.INSTANCE)


class ParsePropertiesTest(base.BaseTestCase):

    def _parse(self, key, value, source):
        """Parse; an error must be a clear InvalidValue."""
        try:
            return key.parse(value, source), None
        except keys.InvalidValue as exc:
            text = str(exc)
            name = key.name_in(source) or key.id
            self.assertTrue(text.startswith(f'{name} must be'), text)
            # The value is shortened; the rule is as long as it is.
            self.assertLessEqual(len(text), len(name) + len(key.rule_text) +
                                 110, text)
            self.assertTrue(text.isprintable(), repr(text))
            text.encode('utf-8')
            return None, exc

    @properties.settings(600)
    @hypothesis.given(st.sampled_from(INTEGER_KEYS + UNBOUNDED),
                      properties.raw_values, st.sampled_from(SOURCES))
    def test_integer_keys_match_the_rule(self, key, value, source):
        got, _exc = self._parse(key, value, source)
        expected = properties.expected_integer(key, value)
        if expected is None:
            self.assertIsNone(got, keys.shown(value))
        else:
            self.assertIs(int, type(got))
            self.assertEqual(expected, decimal.Decimal(got))

    @properties.settings(300)
    @hypothesis.given(st.sampled_from([k for k in keys.KEYS
                                       if k.kind is not keys.Kind.INTEGER]),
                      properties.raw_values, st.sampled_from(SOURCES))
    def test_other_keys_valid_value_or_clear_error(self, key, value, source):
        got, _exc = self._parse(key, value, source)
        if key.kind is keys.Kind.BOOLEAN:
            self.assertIn(got, (True, False, None))
            if isinstance(value, str) and value.lower() in ('true',
                                                            'false'):
                self.assertEqual(value.lower() == 'true', got)
        else:
            self.assertEqual(value if value in key.choices else None, got)

    @properties.settings(300)
    @hypothesis.given(st.sampled_from([k for k in keys.KEYS
                                       if k.precedence]),
                      st.dictionaries(st.sampled_from(SOURCES),
                                      properties.raw_values),
                      st.sampled_from((None, 0, 300, True)))
    def test_resolve_uses_only_valid_values(self, key, raw, config):
        result = keys.resolve(key, raw, config)
        valid = {}
        for source, value in raw.items():
            if value is None or source not in key.precedence.order:
                continue
            got, exc = self._parse(key, value, source)
            if exc is None:
                valid[source] = got
        self.assertEqual(len([s for s, v in raw.items()
                              if v is not None and
                              s in key.precedence.order]) - len(valid),
                         len(result.ignored))
        if not valid:
            self.assertEqual((config, keys.Source.CONFIG),
                             (result.value, result.source))
        elif key.precedence.rule is keys.Rule.FIRST_SET:
            first = next(s for s in key.precedence.order if s in valid)
            self.assertEqual((valid[first], first),
                             (result.value, result.source))
        else:
            non_zero = [v for v in valid.values() if v]
            self.assertEqual(min(non_zero) if non_zero else 0, result.value)
            self.assertEqual(valid[result.source], result.value)
