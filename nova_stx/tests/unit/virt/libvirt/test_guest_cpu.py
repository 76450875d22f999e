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

"""The guest's vCPU model and HPET decisions, over plain data."""

from oslotest import base

from nova_stx import keys
from nova_stx.virt.libvirt import guest_cpu

FLAVOR = keys.Source.FLAVOR
IMAGE = keys.Source.IMAGE
CONFIG = keys.Source.CONFIG
MODEL = keys.CPU_MODEL
HPET = keys.HPET_ENABLED

DOMCAPS = """<domainCapabilities><cpu>
  <mode name='host-passthrough' supported='%s'/>
  <mode name='custom' supported='yes'><model usable='yes'>Nehalem</model>
  </mode></cpu></domainCapabilities>"""


class DescribeTest(base.BaseTestCase):

    def test_no_key_is_novas(self):
        effects = guest_cpu.describe({'hw:cpu_policy': 'dedicated'},
                                     {'hw_disk_bus': 'virtio'})
        self.assertEqual(guest_cpu.Effects(), effects)
        self.assertEqual((None, CONFIG, None, CONFIG),
                         (effects.model, effects.model_source, effects.hpet,
                          effects.hpet_source))
        self.assertIsNone(effects.cpu_mode)
        self.assertFalse(effects.any)

    def test_flavor_model(self):
        effects = guest_cpu.describe({MODEL.flavor: 'Haswell-IBRS'}, {})
        self.assertEqual(('Haswell-IBRS', FLAVOR, 'custom'),
                         (effects.model, effects.model_source,
                          effects.cpu_mode))
        self.assertTrue(effects.any)

    def test_image_model_when_flavor_has_none(self):
        effects = guest_cpu.describe({}, {MODEL.image: 'Passthrough'})
        self.assertEqual(('Passthrough', IMAGE, 'host-passthrough'),
                         (effects.model, effects.model_source,
                          effects.cpu_mode))

    def test_same_model_in_both_is_the_flavors(self):
        effects = guest_cpu.describe({MODEL.flavor: 'Nehalem'},
                                     {MODEL.image: 'Nehalem'})
        self.assertEqual(('Nehalem', FLAVOR),
                         (effects.model, effects.model_source))

    def test_conflict_names_both_keys_and_values(self):
        exc = self.assertRaises(guest_cpu.Conflict, guest_cpu.describe,
                                {MODEL.flavor: 'Nehalem'},
                                {MODEL.image: 'Haswell'})
        self.assertIsInstance(exc, keys.InvalidValue)
        self.assertEqual(
            "hw_cpu_model must equal the flavor's hw:cpu_model 'Nehalem' "
            '(Image vCPU model is not permitted to override configuration '
            "set against the flavor); got 'Haswell'.", str(exc))
        self.assertEqual(('hw_cpu_model', 'Haswell'), (exc.name, exc.value))

    def test_invalid_model_names_its_source(self):
        exc = self.assertRaises(keys.InvalidValue, guest_cpu.describe,
                                {}, {MODEL.image: 'haswell'})
        self.assertEqual('hw_cpu_model', exc.name)
        exc = self.assertRaises(keys.InvalidValue, guest_cpu.describe,
                                {MODEL.flavor: ''}, {})
        self.assertEqual('hw:cpu_model', exc.name)

    def test_flavor_hpet(self):
        for value, expected in (('true', True), ('False', False)):
            effects = guest_cpu.describe({HPET.flavor: value}, {})
            self.assertEqual((expected, FLAVOR),
                             (effects.hpet, effects.hpet_source))
            self.assertTrue(effects.sets_hpet)
            self.assertTrue(effects.any)

    def test_flavor_hpet_overrides_novas_image_property(self):
        effects = guest_cpu.describe({HPET.flavor: 'false'},
                                     {'hw_time_hpet': 'true'})
        self.assertEqual((False, FLAVOR), (effects.hpet, effects.hpet_source))

    def test_novas_image_hpet_is_reported_not_applied(self):
        # Nova's own flexible boolean; nova-stx reports it and leaves it
        # to Nova.
        for value, expected in (('yes', True), ('1', True), ('no', False)):
            effects = guest_cpu.describe({}, {'hw_time_hpet': value})
            self.assertEqual((expected, IMAGE),
                             (effects.hpet, effects.hpet_source))
            self.assertFalse(effects.sets_hpet)
            self.assertFalse(effects.any)

    def test_invalid_hpet(self):
        exc = self.assertRaises(keys.InvalidValue, guest_cpu.describe,
                                {HPET.flavor: 'yes'}, {})
        self.assertEqual("hw:hpet must be 'true' or 'false'; got 'yes'.",
                         str(exc))


class CpuPlanTest(base.BaseTestCase):

    def test_passthrough(self):
        self.assertEqual(guest_cpu.CpuPlan('host-passthrough'),
                         guest_cpu.cpu_plan('Passthrough'))

    def test_named_model(self):
        self.assertEqual(guest_cpu.CpuPlan('custom', ('Nehalem-IBRS',)),
                         guest_cpu.cpu_plan('Nehalem-IBRS'))

    def test_tsx_free_variant_is_second_choice(self):
        self.assertEqual(('Haswell', 'Haswell-noTSX'),
                         guest_cpu.cpu_plan('Haswell').models)
        self.assertEqual(('Skylake-Server-IBRS',
                          'Skylake-Server-noTSX-IBRS'),
                         guest_cpu.cpu_plan('Skylake-Server-IBRS').models)
        # Asked for by its own name, a variant is exactly that.
        self.assertEqual(('Haswell-noTSX',),
                         guest_cpu.cpu_plan('Haswell-noTSX').models)
        # Not a TSX twin: Icelake-Client is not given for Icelake-Server.
        self.assertEqual(('Icelake-Server',),
                         guest_cpu.cpu_plan('Icelake-Server').models)

    def test_one_gib_pages_add_pdpe1gb(self):
        self.assertEqual(('pdpe1gb',), guest_cpu.cpu_plan(
            'Nehalem', page_sizes_kib=(1048576, 1048576)).features)
        self.assertEqual((), guest_cpu.cpu_plan(
            'Nehalem', page_sizes_kib=(2048, 4)).features)
        # The host CPU as it is already has it if it can back the pages.
        self.assertEqual((), guest_cpu.cpu_plan(
            'Passthrough', page_sizes_kib=(1048576,)).features)

    def test_named_model_needs_an_x86_guest(self):
        exc = self.assertRaises(guest_cpu.NotApplicable, guest_cpu.cpu_plan,
                                'Nehalem', guest_arch='aarch64')
        self.assertEqual("hw:cpu_model 'Nehalem' is an x86 model; the guest "
                         'architecture is aarch64', str(exc))

    def test_passthrough_needs_a_native_guest(self):
        exc = self.assertRaises(guest_cpu.NotApplicable, guest_cpu.cpu_plan,
                                'Passthrough', guest_arch='ppc64le',
                                host_arch='x86_64')
        self.assertIn('ppc64le is emulated on x86_64', str(exc))
        self.assertEqual('host-passthrough', guest_cpu.cpu_plan(
            'Passthrough', guest_arch='aarch64',
            host_arch='aarch64').mode)


class HpetTimerTest(base.BaseTestCase):

    def _effects(self, flavor=None, image=None):
        return guest_cpu.describe(
            {HPET.flavor: flavor} if flavor else {},
            {'hw_time_hpet': image} if image else {})

    def test_unset_leaves_novas_clock(self):
        for effects in (self._effects(), self._effects(image='true')):
            self.assertEqual((None, None), guest_cpu.hpet_timer(
                effects, 'x86_64', 'kvm'))

    def test_x86_kvm_and_tcg(self):
        for arch in ('x86_64', 'i686'):
            for virt_type in ('kvm', 'qemu'):
                self.assertEqual((True, None), guest_cpu.hpet_timer(
                    self._effects('true'), arch, virt_type))
                self.assertEqual((False, None), guest_cpu.hpet_timer(
                    self._effects('false'), arch, virt_type))

    def test_other_architectures_ignore_it_with_a_warning(self):
        present, warning = guest_cpu.hpet_timer(self._effects('true'),
                                                'aarch64', 'qemu')
        self.assertIsNone(present)
        self.assertEqual('hw:hpet=true ignored: only x86 guests have an '
                         'HPET (guest architecture aarch64)', warning)

    def test_virt_types_without_timers(self):
        present, warning = guest_cpu.hpet_timer(self._effects('false'),
                                                'x86_64', 'lxc')
        self.assertIsNone(present)
        self.assertIn('libvirt virt type lxc has no guest timers', warning)

    def test_override_note(self):
        self.assertEqual(
            'flavor hw:hpet=false overrides image hw_time_hpet=true',
            guest_cpu.hpet_override_note(self._effects('false'), True))
        self.assertIsNone(guest_cpu.hpet_override_note(
            self._effects('true'), True))
        self.assertIsNone(guest_cpu.hpet_override_note(
            self._effects('true'), None))
        self.assertIsNone(guest_cpu.hpet_override_note(
            self._effects(image='true'), False))


class LibvirtAnswersTest(base.BaseTestCase):

    def test_passthrough_supported(self):
        self.assertTrue(guest_cpu.passthrough_supported(DOMCAPS % 'yes'))
        self.assertFalse(guest_cpu.passthrough_supported(DOMCAPS % 'no'))
        self.assertFalse(guest_cpu.passthrough_supported(
            '<domainCapabilities/>'))

    def test_runs(self):
        # virCPUCompareResult: error, incompatible, identical, superset.
        self.assertEqual([False, False, True, True, False],
                         [guest_cpu.runs(r) for r in (-1, 0, 1, 2, None)])
