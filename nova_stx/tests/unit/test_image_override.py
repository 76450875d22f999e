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

"""The flavor/image vCPU-model rule: one definition, one text, everywhere."""

from oslotest import base

from nova_stx.cmd import validate
from nova_stx import keys
from nova_stx.scheduler import vcpu_model
from nova_stx.virt.libvirt import guest_cpu

MODEL = keys.CPU_MODEL
TEXT = ("hw_cpu_model must equal the flavor's hw:cpu_model 'Nehalem' "
        '(Image vCPU model is not permitted to override configuration set '
        "against the flavor); got 'Haswell'.")


class ImageOverrideTest(base.BaseTestCase):

    def test_rule_names_both_keys_and_values(self):
        error = keys.image_override(MODEL, 'Nehalem', 'Haswell')
        self.assertIsInstance(error, keys.InvalidValue)
        self.assertEqual(TEXT, str(error))
        self.assertEqual((MODEL, 'Nehalem', 'Haswell', 'hw_cpu_model',
                          'Haswell'),
                         (error.key, error.flavor_value, error.image_value,
                          error.name, error.value))

    def test_only_both_set_and_different(self):
        for flavor, image in (('Nehalem', 'Nehalem'), (None, 'Haswell'),
                              ('Nehalem', None), (None, None)):
            self.assertIsNone(keys.image_override(MODEL, flavor, image))

    def test_keys_whose_image_may_differ_never_conflict(self):
        key = keys.AUTO_RECOVERY_ENABLED
        self.assertTrue(key.image_may_differ)
        self.assertIsNone(keys.image_override(key, 'true', 'false'))
        self.assertEqual([], keys.check_image_against_flavor(
            {key.flavor: 'true'}, {key.image: 'false'}))

    def test_every_user_of_the_rule_says_the_same(self):
        texts = {
            'registry': [str(e) for e in keys.check_image_against_flavor(
                {MODEL.flavor: 'Nehalem'}, {MODEL.image: 'Haswell'})],
            'scheduler': [str(self.assertRaises(
                vcpu_model.ConflictingModels, vcpu_model.requested_model,
                'Nehalem', 'Haswell'))],
            'driver': [str(self.assertRaises(
                guest_cpu.Conflict, guest_cpu.describe,
                {MODEL.flavor: 'Nehalem'}, {MODEL.image: 'Haswell'}))],
            'validate': [error for _s, _n, _v, error in validate.check(
                {keys.Source.FLAVOR: {MODEL.flavor: 'Nehalem'},
                 keys.Source.IMAGE: {MODEL.image: 'Haswell'}}) if error],
        }
        self.assertEqual({name: [TEXT] for name in texts}, texts)

    def test_one_class(self):
        self.assertIs(keys.ImageOverridesFlavor, vcpu_model.ConflictingModels)
        self.assertIs(keys.ImageOverridesFlavor, guest_cpu.Conflict)
