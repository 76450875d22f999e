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

"""Our validators as Nova's validation module loads them."""

from nova.api.validation.extra_specs import validators
from nova import exception
from oslotest import base

from nova_stx.api.validation import extra_specs
from nova_stx import keys


class RegisterTest(base.BaseTestCase):

    def test_one_validator_per_flavor_key(self):
        names = [v.name for v in extra_specs.register()]
        self.assertEqual([k.flavor for k in keys.KEYS if k.flavor], names)

    def test_nova_loaded_ours_through_the_entry_point(self):
        for key in keys.KEYS:
            if key.flavor:
                self.assertIsInstance(validators.VALIDATORS[key.flavor],
                                      extra_specs.RegistryValidator)

    def test_no_name_taken_from_nova(self):
        """Nova has no validator of its own for any of our names."""
        ours = {k.flavor for k in keys.KEYS if k.flavor}
        nova_names = {name for name, v in validators.VALIDATORS.items()
                      if not isinstance(v, extra_specs.RegistryValidator)}
        self.assertEqual(set(), ours & nova_names)

    def test_value_metadata_for_nova_docs(self):
        by_name = {v.name: v for v in extra_specs.register()}
        timeout = by_name[keys.LIVE_MIGRATION_TIMEOUT.flavor]
        self.assertEqual(int, timeout.value['type'])
        self.assertEqual(800, timeout.value['max'])
        model = by_name[keys.CPU_MODEL.flavor]
        self.assertIn('Skylake-Server-IBRS', model.value['enum'])


class ValidateTest(base.BaseTestCase):

    def test_accepts(self):
        for name, value in (
                ('hw:wrs:live_migration_timeout', '0'),
                ('hw:wrs:live_migration_max_downtime', '500'),
                ('hw:wrs:live_migration_tunnel', 'true'),
                ('hw:cpu_model', 'Icelake-Server'),
                ('hw:hpet', 'false'),
                ('sw:wrs:auto_recovery', 'true')):
            validators.validate(name, value)

    def test_rejects_with_registry_text(self):
        exc = self.assertRaises(exception.ValidationError,
                                validators.validate,
                                'hw:wrs:live_migration_timeout', '801')
        self.assertIn('hw:wrs:live_migration_timeout must be 0 or in the '
                      "range 120 to 800; got '801'.", str(exc))

    def test_integer_spelling_as_novas_own_validators(self):
        for value in (' 300', '+300', '300\n', '0' * 4301, '0' * 4301 + '150'):
            validators.validate('hw:wrs:live_migration_timeout', value)

    def test_integer_spelling_refused(self):
        for value in ('3_00', '\u0663\u0660\u0660', '\u00a0300', '3e2',
                      '300.0'):
            exc = self.assertRaises(exception.ValidationError,
                                    validators.validate,
                                    'hw:wrs:live_migration_timeout', value)
            self.assertIn('hw:wrs:live_migration_timeout must be an integer',
                          str(exc))

    def test_long_integers_give_a_clear_error(self):
        for name in ('hw:wrs:live_migration_timeout',
                     'hw:wrs:live_migration_max_downtime'):
            exc = self.assertRaises(exception.ValidationError,
                                    validators.validate, name, '9' * 5000)
            self.assertIn(f'{name} must be', str(exc))
            self.assertIn('(5000 characters)', str(exc))

    def test_unknown_key_in_our_namespace_still_rejected(self):
        self.assertRaises(exception.ValidationError, validators.validate,
                          'hw:wrs:live_migration_bogus', '1')
