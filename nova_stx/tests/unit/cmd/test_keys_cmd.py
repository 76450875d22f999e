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

"""The keys page says what consumes each key and its guest effect."""

import os

from oslotest import base

from nova_stx.cmd import keys_cmd
from nova_stx import keys
from nova_stx.tests.unit.cmd import test_cli


def sections(page):
    """Return ``{title: [field lines]}`` of the generated page."""
    lines = page.splitlines()
    result = {}
    for i, line in enumerate(lines):
        if i and line and set(line) == {'-'}:
            fields = []
            for text in lines[i + 2:]:
                if not text.startswith(':'):
                    break
                fields.append(text)
            result[lines[i - 1]] = fields
    return result


def field(lines, name):
    prefix = f':{name}: '
    found = [line[len(prefix):] for line in lines if line.startswith(prefix)]
    return found[0] if found else None


class KeysPageTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.sections = sections(keys_cmd.render_rst())

    def test_every_key_names_each_consumer_and_its_effect(self):
        for key in keys.KEYS:
            consumed_by = field(self.sections[key.title], 'Consumed by')
            self.assertIsNotNone(consumed_by, key.id)
            for consumer in keys.consumers(key):
                self.assertIn(f'({consumer.effect})', consumed_by, key.id)
                if consumer.code:
                    self.assertIn(f'``{consumer.code}``', consumed_by,
                                  key.id)

    def test_guest_effect_follows_the_consumers(self):
        for key in keys.KEYS:
            effect = field(self.sections[key.title], 'Guest effect')
            effects = {c.effect for c in keys.consumers(key)}
            if keys.Effect.GUEST in effects:
                self.assertEqual(
                    f'yes: {keys.Effect.GUEST.description}; see '
                    f':doc:`{keys_cmd.GUEST_PAGE}`', effect, key.id)
                continue
            self.assertTrue(effect.startswith('none: '), key.id)
            for each in effects:
                self.assertIn(each.description, effect, key.id)

    def test_guest_keys_on_the_page(self):
        guest = [title for title, lines in self.sections.items()
                 if field(lines, 'Guest effect').startswith('yes: ')]
        self.assertEqual([keys.CPU_MODEL.title, keys.HPET_ENABLED.title],
                         guest)

    def test_validated_only_key_says_so(self):
        lines = self.sections[keys.AUTO_RECOVERY_ENABLED.title]
        self.assertEqual('no code (validated)', field(lines, 'Consumed by'))
        self.assertEqual('none: it is only validated (API, Glance, CLI)',
                         field(lines, 'Guest effect'))

    def test_guest_page_exists(self):
        self.assertTrue(os.path.exists(os.path.join(
            os.path.dirname(test_cli.DOC), f'{keys_cmd.GUEST_PAGE}.rst')))


class KeysListTest(test_cli.CliTestCase):

    def test_consumers_in_every_format(self):
        code, rows, _ = self.run_json('keys', '-c', 'Key', '-c',
                                      'Consumed by')
        self.assertEqual(0, code)
        by_key = {r['Key']: r['Consumed by'] for r in rows}
        self.assertEqual(
            ['placement: nova_stx.scheduler.filters.vcpu_model_filter.'
             'StxVCpuModelFilter',
             'guest: nova_stx.virt.libvirt.driver.LibvirtDriver.'
             '_get_guest_config'], by_key[keys.CPU_MODEL.id])
        self.assertEqual(['validated: -'],
                         by_key[keys.AUTO_RECOVERY_ENABLED.id])
