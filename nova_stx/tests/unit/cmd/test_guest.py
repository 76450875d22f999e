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

"""What ``explain`` and ``validate`` say the guest gets."""

from oslotest import base
import yaml

from nova_stx.cmd import guest
from nova_stx import keys
from nova_stx.tests.unit.cmd import test_cli

MODEL = keys.CPU_MODEL
HPET = keys.HPET_ENABLED
NOVA_HPET = HPET.overrides_nova
CONFLICT = ("hw_cpu_model must equal the flavor's hw:cpu_model 'Nehalem' "
            '(Image vCPU model is not permitted to override configuration '
            "set against the flavor); got 'Haswell'.")


def flag(source, name, value):
    return [f'--{source}-property', f'{name}={value}']


class DescribeTest(base.BaseTestCase):

    def fields(self, flavor=None, image=None):
        return guest.fields(guest.describe(flavor or {}, image or {}))

    def test_no_key_is_novas(self):
        self.assertEqual(
            {'vcpu_model': None, 'cpu_mode': None,
             'vcpu_model_source': 'config', 'hpet': None,
             'hpet_source': 'config'}, self.fields())

    def test_flavor_model_and_image_hpet(self):
        self.assertEqual(
            {'vcpu_model': 'Haswell', 'cpu_mode': 'custom',
             'vcpu_model_source': 'flavor', 'hpet': True,
             'hpet_source': 'image'},
            self.fields({MODEL.flavor: 'Haswell'}, {NOVA_HPET: 'yes'}))

    def test_image_passthrough_and_flavor_hpet_beats_image(self):
        self.assertEqual(
            {'vcpu_model': 'Passthrough', 'cpu_mode': 'host-passthrough',
             'vcpu_model_source': 'image', 'hpet': False,
             'hpet_source': 'flavor'},
            self.fields({HPET.flavor: 'false'},
                        {MODEL.image: 'Passthrough', NOVA_HPET: 'true'}))

    def test_conflict_leaves_the_hpet_decided(self):
        model, hpet = guest.describe({MODEL.flavor: 'Nehalem',
                                      HPET.flavor: 'true'},
                                     {MODEL.image: 'Haswell'})
        self.assertEqual(CONFLICT, model.error)
        self.assertIsNone(model.value)
        self.assertEqual((True, keys.Source.FLAVOR, None),
                         (hpet.value, hpet.source, hpet.error))
        self.assertEqual([CONFLICT], guest.errors([model, hpet]))

    def test_details_name_the_deciding_property(self):
        model, hpet = guest.describe({HPET.flavor: 'true'},
                                     {MODEL.image: 'Nehalem'})
        self.assertEqual('custom mode, from image hw_cpu_model',
                         model.detail)
        self.assertEqual('from flavor hw:hpet (x86 guests)', hpet.detail)
        model, hpet = guest.describe({}, {})
        self.assertEqual("no key: Nova's [libvirt] cpu_mode applies",
                         model.detail)
        self.assertEqual(guest.NOVA_HPET, hpet.detail)

    def test_reads_only_the_guest_keys_and_novas_hpet(self):
        self.assertFalse(guest.reads(
            {keys.LIVE_MIGRATION_TIMEOUT.flavor: '180'},
            {keys.AUTO_RECOVERY_ENABLED.image: 'true'}))
        for flavor, image in (({MODEL.flavor: 'x'}, {}),
                              ({}, {MODEL.image: 'x'}),
                              ({HPET.flavor: 'x'}, {}),
                              ({}, {NOVA_HPET: 'x'})):
            self.assertTrue(guest.reads(flavor, image), (flavor, image))


class ValidateGuestTest(test_cli.CliTestCase):

    def guest_rows(self, *argv):
        code, rows, err = self.run_json('validate', *argv)
        return code, [(r['Property'], r['Value'], r['Result'], r['Detail'])
                      for r in rows if r['Source'] == 'guest'], err

    def test_model_and_its_source(self):
        code, rows, err = self.guest_rows(
            *flag('flavor', MODEL.flavor, 'Haswell-IBRS'),
            *flag('image', NOVA_HPET, 'true'))
        self.assertEqual(0, code, err)
        self.assertEqual(
            [('vcpu_model', 'Haswell-IBRS', 'ok',
              'custom mode, from flavor hw:cpu_model'),
             ('hpet', 'true', 'ok',
              'from image hw_time_hpet (Nova applies it on KVM only)')],
            rows)

    def test_conflict_is_an_error_naming_both_keys_and_values(self):
        code, rows, _ = self.guest_rows(
            *flag('flavor', MODEL.flavor, 'Nehalem'),
            *flag('image', MODEL.image, 'Haswell'),
            *flag('flavor', HPET.flavor, 'false'))
        self.assertEqual(1, code)
        self.assertEqual(
            [('vcpu_model', None, 'error', CONFLICT),
             ('hpet', 'false', 'ok', 'from flavor hw:hpet (x86 guests)')],
            rows)

    def test_invalid_hpet_is_an_error_in_its_row(self):
        code, rows, _ = self.guest_rows(*flag('flavor', HPET.flavor, 'on'))
        self.assertEqual(1, code)
        self.assertEqual(('hpet', None, 'error',
                          "hw:hpet must be 'true' or 'false'; got 'on'."),
                         rows[1])
        self.assertEqual('ok', rows[0][2])

    def test_no_guest_rows_without_a_guest_key(self):
        code, rows, err = self.guest_rows(
            *flag('flavor', keys.LIVE_MIGRATION_TIMEOUT.flavor, '180'))
        self.assertEqual((0, []), (code, rows), err)

    def test_every_format_has_the_guest_rows(self):
        argv = ['validate', *flag('image', MODEL.image, 'Passthrough')]
        code, data, _ = self.run_json(*argv)
        self.assertEqual(0, code)
        code, out, _ = self.run_cli(*argv, '-f', 'yaml')
        self.assertEqual(data, yaml.safe_load(out))
        code, out, _ = self.run_cli(*argv, '-f', 'value')
        self.assertIn('guest vcpu_model Passthrough ok host-passthrough '
                      'mode, from image hw_cpu_model', out)
        code, out, _ = self.run_cli(*argv, '-f', 'table')
        self.assertRegex(out, r'\| guest +\| vcpu_model +\| Passthrough +\| '
                              r'ok +\| host-passthrough mode')


class ExplainGuestTest(test_cli.CliTestCase):

    def test_hosts_that_fit_say_what_the_guest_gets(self):
        code, rows, err = self.run_json(
            'explain', *flag('flavor', MODEL.flavor, 'Haswell-IBRS'),
            *flag('flavor', HPET.flavor, 'true'))
        self.assertEqual(0, code, err)
        gets = {'vcpu_model': 'Haswell-IBRS', 'cpu_mode': 'custom',
                'vcpu_model_source': 'flavor', 'hpet': True,
                'hpet_source': 'flavor'}
        for row in rows:
            self.assertEqual(gets if row['Result'] == 'fits' else {},
                             row['Guest'], row['Host'])
        self.assertIn('rejected', [r['Result'] for r in rows])

    def test_no_key_guest_is_novas(self):
        code, rows, err = self.run_json('explain')
        self.assertEqual(0, code, err)
        self.assertEqual({'vcpu_model': None, 'cpu_mode': None,
                          'vcpu_model_source': 'config', 'hpet': None,
                          'hpet_source': 'config'}, rows[0]['Guest'])

    def test_conflict_is_a_one_line_error(self):
        for fmt in ('table', 'json', 'yaml', 'value'):
            code, out, err = self.run_cli(
                'explain', *flag('flavor', MODEL.flavor, 'Nehalem'),
                *flag('image', MODEL.image, 'Haswell'), '-f', fmt)
            self.assertEqual((2, ''), (code, out), fmt)
            self.assertEqual(
                'nova-stx explain: error: every compute would refuse the '
                'build: ' + CONFLICT, err.strip())

    def test_image_model_the_scheduler_cannot_see_is_noted(self):
        code, rows, err = self.run_json(
            'explain', *flag('image', MODEL.image, 'Haswell'))
        self.assertEqual(0, code, err)
        self.assertEqual(('Haswell', 'image'),
                         (rows[0]['Guest']['vcpu_model'],
                          rows[0]['Guest']['vcpu_model_source']))
        self.assertIn('Note: the guest gets hw_cpu_model Haswell, which the '
                      'scheduler cannot see', err)

    def test_table_and_yaml(self):
        argv = ['explain', *flag('flavor', MODEL.flavor, 'Passthrough'),
                '-c', 'Host', '-c', 'Guest']
        code, data, _ = self.run_json(*argv)
        code, out, _ = self.run_cli(*argv, '-f', 'yaml')
        self.assertEqual(data, yaml.safe_load(out))
        code, out, _ = self.run_cli(*argv)
        self.assertIn('| vcpu_model: Passthrough', out)
        self.assertIn('| cpu_mode: host-passthrough', out)
