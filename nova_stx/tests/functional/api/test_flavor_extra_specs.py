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

"""Nova's real API validates our flavor keys through the entry point."""

from nova.tests.functional.api import client

from nova_stx import keys
from nova_stx.tests.functional import base

TIMEOUT = keys.LIVE_MIGRATION_TIMEOUT.flavor
DOWNTIME = keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor
AUTO_CONVERGE = keys.LIVE_MIGRATION_AUTO_CONVERGE.flavor
CPU_MODEL = keys.CPU_MODEL.flavor


class FlavorExtraSpecsTest(base.StxServersTestBase):
    """Flavor extra specs at microversion 2.86 (strict validation)."""

    def _set(self, flavor_id, name, value):
        return self.admin_api.post_extra_spec(
            flavor_id, {'extra_specs': {name: value}})

    def _assert_rejected(self, flavor_id, name, value, text):
        exc = self.assertRaises(client.OpenStackApiException,
                                self._set, flavor_id, name, value)
        self.assertEqual(400, exc.response.status_code)
        self.assertIn(text, exc.response.text)
        self.assertNotIn(name, self.admin_api.get_extra_specs(flavor_id))

    def test_valid_values_accepted(self):
        accepted = [(TIMEOUT, v) for v in ('0', '120', '150', '800')]
        accepted += [(DOWNTIME, v) for v in ('100', '500', '100000')]
        accepted += [(AUTO_CONVERGE, v) for v in ('true', 'false')]
        accepted += [(CPU_MODEL, v) for v in (
            'Passthrough', 'Haswell-IBRS', 'Skylake-Server-IBRS',
            'Cascadelake-Server', 'Icelake-Server', 'SapphireRapids',
            'EPYC-Rome')]
        flavor_id = self._create_flavor()
        for name, value in accepted:
            self._set(flavor_id, name, value)
            self.assertEqual(
                value, self.admin_api.get_extra_specs(flavor_id)[name])

    def test_every_flavor_key_of_the_registry_accepted(self):
        flavor_id = self._create_flavor()
        for key in keys.KEYS:
            if key.flavor:
                value = (key.choices[0] if key.suggested is None
                         else str(key.suggested).lower())
                self._set(flavor_id, key.flavor, value)
                self.assertIn(key.flavor,
                              self.admin_api.get_extra_specs(flavor_id))

    def test_timeout_out_of_range_rejected(self):
        flavor_id = self._create_flavor()
        for value in ('-1', '1', '119', '801'):
            self._assert_rejected(
                flavor_id, TIMEOUT, value,
                f'{TIMEOUT} must be 0 or in the range 120 to 800; '
                f"got '{value}'")

    def test_integer_spelling_of_novas_validators_accepted(self):
        # Nova's own integer validators take a sign and surrounding ASCII
        # whitespace; the value is stored as given.
        flavor_id = self._create_flavor()
        for value in (' 150', '+150', '150 ', '0' * 200 + '150'):
            self._set(flavor_id, TIMEOUT, value)
            self.assertEqual(
                value, self.admin_api.get_extra_specs(flavor_id)[TIMEOUT])

    def test_non_integers_rejected(self):
        flavor_id = self._create_flavor()
        for name in (TIMEOUT, DOWNTIME):
            for value in ('abc', '', '1.5', '1_50', '1e3'):
                self._assert_rejected(
                    flavor_id, name, value,
                    f"{name} must be an integer; got '{value}'")
            # The response escapes non-ASCII text; the rule is the same.
            for value in ('\u0661\u0665\u0660', '\u00a0150', '150\u2003'):
                self._assert_rejected(flavor_id, name, value,
                                      f'{name} must be an integer')

    def test_downtime_below_minimum_rejected(self):
        flavor_id = self._create_flavor()
        self._assert_rejected(
            flavor_id, DOWNTIME, '99',
            f"{DOWNTIME} must be in the range 100 to 2000000; got '99'")

    def test_downtime_above_qemu_maximum_rejected(self):
        flavor_id = self._create_flavor()
        self._assert_rejected(
            flavor_id, DOWNTIME, '1' + '0' * 23,
            f"{DOWNTIME} must be in the range 100 to 2000000; got "
            f"'1{'0' * 23}'")

    def test_booleans_are_strict(self):
        flavor_id = self._create_flavor()
        for value in ('yes', '1', 'on', ''):
            self._assert_rejected(
                flavor_id, AUTO_CONVERGE, value,
                f"{AUTO_CONVERGE} must be 'true' or 'false'")

    def test_unknown_cpu_model_rejected(self):
        flavor_id = self._create_flavor()
        self._assert_rejected(flavor_id, CPU_MODEL, 'Pentium-9000',
                              f'{CPU_MODEL} must be one of: Passthrough')

    def test_flavor_created_with_invalid_spec_is_rejected(self):
        """The boot-time path: flavor create plus extra specs in one go."""
        exc = self.assertRaises(
            client.OpenStackApiException, self._create_flavor,
            extra_spec={TIMEOUT: '801'})
        self.assertEqual(400, exc.response.status_code)

    def test_old_microversion_skips_validation(self):
        """Nova validates only from 2.86; older requests store anything."""
        flavor_id = self._create_flavor()
        self.admin_api.microversion = '2.85'
        self._set(flavor_id, TIMEOUT, '801')
        self.assertEqual(
            '801', self.admin_api.get_extra_specs(flavor_id)[TIMEOUT])
