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

"""The key registry: parsing, rules, precedence."""

import dataclasses

from oslotest import base

from nova_stx import keys

FLAVOR = keys.Source.FLAVOR
IMAGE = keys.Source.IMAGE
INSTANCE = keys.Source.INSTANCE


class ParseTest(base.BaseTestCase):

    def test_timeout_accepts_starlingx_values(self):
        for value in ('0', '120', '150', '800'):
            self.assertEqual(int(value),
                             keys.LIVE_MIGRATION_TIMEOUT.parse(value))

    def test_timeout_rejects_starlingx_values(self):
        for value in ('-1', '1', '119', '801'):
            exc = self.assertRaises(keys.InvalidValue,
                                    keys.LIVE_MIGRATION_TIMEOUT.parse, value)
            self.assertEqual(
                'hw:wrs:live_migration_timeout must be 0 or in the range '
                f"120 to 800; got '{value}'.", str(exc))

    def test_integer_accepts_sign_and_ascii_whitespace(self):
        # The spelling Nova's integer extra-spec validators and StarlingX
        # accept for an ordinary decimal integer.
        key = keys.LIVE_MIGRATION_MAX_DOWNTIME
        for value in (' 150', '+150', '150 ', '\t150\n', ' +150 ',
                      '00150', '\x0b\x0c\r150'):
            self.assertEqual(150, key.parse(value), repr(value))
        self.assertEqual(0, keys.LIVE_MIGRATION_TIMEOUT.parse('-0'))
        self.assertEqual(0, keys.LIVE_MIGRATION_TIMEOUT.parse(' +0 '))

    def test_integer_spelling_is_range_checked(self):
        exc = self.assertRaises(keys.InvalidValue,
                                keys.LIVE_MIGRATION_TIMEOUT.parse, ' +801')
        self.assertEqual("hw:wrs:live_migration_timeout must be 0 or in the "
                         "range 120 to 800; got ' +801'.", str(exc))

    def test_integer_rejects_non_integers(self):
        for value in ('abc', '', '1.5', '1_50', '1e3', ' ', '+', '-',
                      '+-150', '++150', '15 0', '0x96', '\u0661\u0665\u0660',
                      '\u00a0150', '150\u2003', '\uff11\uff15\uff10',
                      '150\x00', True, 1.5):
            exc = self.assertRaises(keys.InvalidValue,
                                    keys.LIVE_MIGRATION_MAX_DOWNTIME.parse,
                                    value)
            self.assertIn('hw:wrs:live_migration_max_downtime must be an '
                          'integer', str(exc))

    def test_integer_longer_than_pythons_digit_limit(self):
        # Python's int() refuses more than 4300 digits by default.
        timeout = keys.LIVE_MIGRATION_TIMEOUT
        self.assertEqual(0, timeout.parse('0' * 4301))
        self.assertEqual(150, timeout.parse(' +' + '0' * 10000 + '150'))
        exc = self.assertRaises(keys.InvalidValue, timeout.parse,
                                '1' + '0' * 5000)
        self.assertIn('must be 0 or in the range 120 to 800', str(exc))
        exc = self.assertRaises(keys.InvalidValue, timeout.parse,
                                '-' + '1' * 5000)
        self.assertIn('must be 0 or in the range 120 to 800', str(exc))
        self.assertRaises(keys.InvalidValue, timeout.parse, 10 ** 5000)

    def test_unbounded_integer_longer_than_the_digit_limit(self):
        key = dataclasses.replace(keys.LIVE_MIGRATION_MAX_DOWNTIME,
                                  maximum=None)
        self.assertEqual(10 ** 4000, key.parse('1' + '0' * 4000))
        exc = self.assertRaises(keys.InvalidValue, key.parse,
                                '9' * (keys.MAX_INTEGER_DIGITS + 1))
        self.assertIn('hw:wrs:live_migration_max_downtime must be an '
                      f'integer of at most {keys.MAX_INTEGER_DIGITS} digits',
                      str(exc))

    def test_error_text_shortens_long_values(self):
        value = '7' * 5000 + 'x'
        exc = self.assertRaises(keys.InvalidValue,
                                keys.LIVE_MIGRATION_TIMEOUT.parse, value)
        self.assertEqual(value, exc.value)
        self.assertLess(len(str(exc)), 200)
        self.assertIn('(5001 characters)', str(exc))

    def test_error_text_escapes_unprintable_characters(self):
        exc = self.assertRaises(keys.InvalidValue,
                                keys.LIVE_MIGRATION_TIMEOUT.parse,
                                '1\n2\ud800')
        self.assertEqual("hw:wrs:live_migration_timeout must be an integer; "
                         "got '1\\n2\\ud800'.", str(exc))
        str(exc).encode('utf-8')

    def test_downtime_minimum(self):
        self.assertEqual(100, keys.LIVE_MIGRATION_MAX_DOWNTIME.parse('100'))
        self.assertEqual(10 ** 6,
                         keys.LIVE_MIGRATION_MAX_DOWNTIME.parse('1000000'))
        exc = self.assertRaises(keys.InvalidValue,
                                keys.LIVE_MIGRATION_MAX_DOWNTIME.parse, '99')
        self.assertIn('must be in the range 100 to 2000000', str(exc))

    def test_downtime_maximum_is_qemus(self):
        # QEMU refuses a downtime-limit above 2000 s.
        key = keys.LIVE_MIGRATION_MAX_DOWNTIME
        self.assertEqual(2000000, key.parse('2000000'))
        exc = self.assertRaises(keys.InvalidValue, key.parse, '2000001')
        self.assertIn('must be in the range 100 to 2000000', str(exc))

    def test_error_names_the_key_in_its_source(self):
        exc = self.assertRaises(keys.InvalidValue,
                                keys.LIVE_MIGRATION_TIMEOUT.parse, '5',
                                IMAGE)
        self.assertEqual('hw_wrs_live_migration_timeout', exc.name)
        self.assertEqual('5', exc.value)
        self.assertTrue(str(exc).startswith('hw_wrs_live_migration_timeout'))

    def test_booleans_strict(self):
        key = keys.LIVE_MIGRATION_TUNNEL
        self.assertIs(True, key.parse('true'))
        self.assertIs(False, key.parse('False'))
        for value in ('yes', '1', '0', 'on', ''):
            self.assertRaises(keys.InvalidValue, key.parse, value)

    def test_cpu_model_enum(self):
        self.assertEqual('Haswell-IBRS', keys.CPU_MODEL.parse('Haswell-IBRS'))
        self.assertEqual('Passthrough', keys.CPU_MODEL.parse('Passthrough'))
        self.assertRaises(keys.InvalidValue, keys.CPU_MODEL.parse, 'haswell')


class ResolveTest(base.BaseTestCase):
    """StarlingX's driver precedence vectors (semantics.md section 1)."""

    @staticmethod
    def _resolve(key, config, flavor=None, image=None, instance=None):
        raw = {s: str(v) for s, v in ((FLAVOR, flavor), (IMAGE, image),
                                      (INSTANCE, instance)) if v is not None}
        return keys.resolve(key, raw, config)

    def _timeout(self, *values):
        """Config timeout 800, as in StarlingX's vectors."""
        return self._resolve(keys.LIVE_MIGRATION_TIMEOUT, 800, *values)

    def _downtime(self, *values):
        """Config max downtime 400, as in StarlingX's vectors."""
        return self._resolve(keys.LIVE_MIGRATION_MAX_DOWNTIME, 400, *values)

    def test_timeout_vectors(self):
        vectors = [
            ((None, None, None), 800, keys.Source.CONFIG),
            ((300, None, None), 300, FLAVOR),
            ((None, 400, None), 400, IMAGE),
            ((None, None, 200), 200, INSTANCE),
            ((300, 400, None), 300, FLAVOR),
            ((300, 200, None), 200, IMAGE),
            ((0, 200, None), 200, IMAGE),
            ((300, 0, 400), 300, FLAVOR),
        ]
        for (flavor, image, instance), value, source in vectors:
            result = self._timeout(flavor, image, instance)
            self.assertEqual((value, source), (result.value, result.source),
                             (flavor, image, instance))

    def test_timeout_out_of_range_values_are_ignored(self):
        # StarlingX's vector (300, 200, 100) gave 100: 100 is outside the
        # valid range, so nova-stx ignores it and reports it.
        result = self._timeout(300, 200, 100)
        self.assertEqual((200, IMAGE), (result.value, result.source))
        self.assertEqual(['hw:wrs:live_migration_timeout'],
                         [e.name for e in result.ignored])

    def test_timeout_zero_only_when_every_value_is_zero(self):
        self.assertEqual(0, self._timeout(0, 0, 0).value)
        self.assertEqual(0, self._timeout(None, 0, None).value)
        self.assertEqual(150, self._timeout(0, None, 150).value)

    def test_downtime_vectors(self):
        vectors = [
            ((100, None, None), 100, FLAVOR),
            ((None, 10, None), 400, keys.Source.CONFIG),
            ((None, 200, None), 200, IMAGE),
            ((None, 200, 400), 400, INSTANCE),
            ((100, 200, 400), 100, FLAVOR),
        ]
        for (flavor, image, instance), value, source in vectors:
            result = self._downtime(flavor, image, instance)
            self.assertEqual((value, source), (result.value, result.source),
                             (flavor, image, instance))

    def test_downtime_below_minimum_reported(self):
        result = self._downtime(None, 10, None)
        self.assertEqual(1, len(result.ignored))
        self.assertIn('hw_wrs_live_migration_max_downtime must be in the '
                      "range 100 to 2000000; got '10'",
                      str(result.ignored[0]))

    def test_booleans_instance_beats_flavor(self):
        key = keys.LIVE_MIGRATION_AUTO_CONVERGE
        result = keys.resolve(key, {FLAVOR: 'true', INSTANCE: 'false'}, None)
        self.assertEqual((False, INSTANCE), (result.value, result.source))
        result = keys.resolve(key, {FLAVOR: 'true'}, False)
        self.assertEqual((True, FLAVOR), (result.value, result.source))
        result = keys.resolve(key, {}, False)
        self.assertEqual((False, keys.Source.CONFIG),
                         (result.value, result.source))


class RegistryTest(base.BaseTestCase):

    def test_ids_and_names_unique(self):
        self.assertEqual(len(keys.KEYS), len({k.id for k in keys.KEYS}))
        for source in (FLAVOR, IMAGE, INSTANCE):
            names = [k.name_in(source) for k in keys.KEYS
                     if k.name_in(source)]
            self.assertEqual(len(names), len(set(names)), source)

    def test_every_key_documented_and_typed(self):
        for key in keys.KEYS:
            self.assertTrue(key.title and key.help and key.default, key.id)
            self.assertTrue(key.names(), key.id)
            if key.suggested is not None:
                key.parse(str(key.suggested).lower())
            if len(key.names()) > 1:
                self.assertIsNotNone(key.precedence, key.id)

    def test_image_names_use_underscores(self):
        for key in keys.KEYS:
            if key.image:
                self.assertNotIn(':', key.image)

    def test_by_name_and_validate(self):
        self.assertIs(keys.LIVE_MIGRATION_TIMEOUT,
                      keys.by_name(IMAGE)['hw_wrs_live_migration_timeout'])
        errors = keys.validate({'hw:wrs:live_migration_timeout': '5',
                                'hw:numa_nodes': 'whatever'}, FLAVOR)
        self.assertEqual(['hw:wrs:live_migration_timeout'],
                         [e.name for e in errors])

    def test_owned_prefixes_exclude_nova_namespaces(self):
        prefixes = keys.owned_prefixes()
        self.assertIn('hw:wrs:', prefixes)
        self.assertIn('hw_wrs_', prefixes)
        self.assertNotIn('hw:', prefixes)

    def test_image_cpu_model_may_not_differ_from_flavor(self):
        errors = keys.check_image_against_flavor(
            {'hw:cpu_model': 'Haswell'}, {'hw_cpu_model': 'Broadwell'})
        self.assertEqual(1, len(errors))
        self.assertIn('Image vCPU model is not permitted to override '
                      'configuration set against the flavor', str(errors[0]))
        self.assertEqual([], keys.check_image_against_flavor(
            {'hw:cpu_model': 'Haswell'}, {'hw_cpu_model': 'Haswell'}))
        self.assertEqual([], keys.check_image_against_flavor(
            {}, {'hw_cpu_model': 'Haswell'}))
