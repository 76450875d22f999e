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

"""The vCPU model and HPET in the guest config Nova's driver generates.

Nova's unit-test harness (fake libvirt, no database) runs Nova 34's real
``_get_guest_config`` and ``_get_guest_xml`` under the nova-stx overrides.
Fake libvirt's CPU comparison only knows the fake host's own model, so
tests say which models "libvirt" can run (:meth:`GuestConfigTestCase.can_run`).
"""

import inspect
from unittest import mock
import xml.etree.ElementTree as ElementTree

import fixtures
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.fixtures import libvirt_data
from nova.virt import fake
from nova.virt.libvirt import blockinfo
from nova.virt.libvirt import driver as libvirt_driver
from oslo_utils.fixture import uuidsentinel as uuids

from nova_stx import keys
from nova_stx.tests.lab import nova_compute
from nova_stx.virt.libvirt import driver
from nova_stx.virt.libvirt import guest_config

MODEL = keys.CPU_MODEL
HPET = keys.HPET_ENABLED
NOVA_HPET = HPET.overrides_nova
GIB_KIB = 1024 * 1024


def make_instance(extra_specs=None, image_props=None, page_kib=None):
    """A 2-vCPU instance as the compute node sees it, and its ImageMeta."""
    return nova_compute.make_instance(
        extra_specs, image_props, memory_mb=2048, vcpus=2,
        page_kib=page_kib, direct_boot=False, instance_uuid=uuids.instance)


class GuestConfigTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(nova_fixtures.LibvirtFixture())
        self.useFixture(fixtures.MockPatch('nova.virt.driver.time',
                                           nova_compute.FrozenTime))
        self.flags(virt_type='kvm', group='libvirt')
        self.drvr = driver.LibvirtDriver(fake.FakeVirtAPI(), False)
        self.nova = libvirt_driver.LibvirtDriver(fake.FakeVirtAPI(), False)
        self.runnable = None
        self.compared = []
        self.passthrough = 'yes'
        real_compare = fakelibvirt.Connection.compareHypervisorCPU

        def compare(conn, emulator, arch, machine, virttype, xml, flags):
            self.compared.append((virttype, xml))
            if self.runnable is None:
                return real_compare(conn, emulator, arch, machine, virttype,
                                    xml, flags)
            model = ElementTree.fromstring(xml).findtext('model')
            return 2 if model in self.runnable else 0

        real_caps = fakelibvirt.Connection.getDomainCapabilities

        def domain_caps(conn, emulator, arch, machine, virt_type, flags):
            caps = real_caps(conn, emulator, arch, machine, virt_type, flags)
            return caps.replace(
                "<mode name='host-passthrough' supported='yes'/>",
                f"<mode name='host-passthrough' "
                f"supported='{self.passthrough}'/>")

        self.stub_out('nova.tests.fixtures.libvirt.Connection.'
                      'compareHypervisorCPU', compare)
        self.stub_out('nova.tests.fixtures.libvirt.Connection.'
                      'getDomainCapabilities', domain_caps)

    def can_run(self, *models):
        self.runnable = set(models)

    def config(self, extra_specs=None, image_props=None, page_kib=None,
               drvr=None):
        instance, image_meta = make_instance(extra_specs, image_props,
                                             page_kib)
        drvr = drvr or self.drvr
        disk_info = blockinfo.get_disk_info('kvm', instance, image_meta)
        guest = drvr._get_guest_config(instance, [], image_meta, disk_info)
        return guest, instance

    def xml(self, drvr, instance, image_meta):
        disk_info = blockinfo.get_disk_info('kvm', instance, image_meta)
        return drvr._get_guest_xml(nova_context.get_admin_context(),
                                   instance, [], disk_info, image_meta)

    @staticmethod
    def features(cpu):
        return {f.name: f.policy for f in cpu.features}

    @staticmethod
    def hpet(guest):
        timers = [t for t in guest.clock.timers if t.name == 'hpet']
        return [t.present for t in timers]


class NoKeyTest(GuestConfigTestCase):
    """With no nova-stx key the guest XML is Nova's, byte for byte."""

    CASES = [
        ('kvm', {}, {}, {}),
        ('qemu', {}, {}, {}),
        ('kvm', {}, {NOVA_HPET: 'true'}, {}),
        ('qemu', {}, {NOVA_HPET: 'true'}, {}),
        ('kvm', {'cpu_mode': 'host-passthrough'}, {}, {}),
        ('kvm', {'cpu_mode': 'custom', 'cpu_models': ['Penryn'],
                 'cpu_model_extra_flags': ['aes']}, {}, {}),
        ('kvm', {'cpu_mode': 'none'}, {}, {}),
        # Keys of nova-stx that do not touch the guest itself.
        ('kvm', {}, {'hw_wrs_live_migration_timeout': '300'},
         {'hw:wrs:live_migration_max_downtime': '500',
          'sw:wrs:auto_recovery': 'true'}),
    ]

    def test_guest_xml_equals_novas(self):
        defaults = {'cpu_mode': None, 'cpu_models': [],
                    'cpu_model_extra_flags': []}
        for virt_type, libvirt_opts, image, extra_specs in self.CASES:
            self.flags(virt_type=virt_type, group='libvirt',
                       **dict(defaults, **libvirt_opts))
            instance, image_meta = make_instance(extra_specs, image)
            nova_xml = self.xml(self.nova, instance.obj_clone(), image_meta)
            stx_xml = self.xml(self.drvr, instance.obj_clone(), image_meta)
            self.assertEqual(nova_xml, stx_xml,
                             (virt_type, libvirt_opts, image, extra_specs))
            self.assertEqual([], self.compared)

    def test_vcpu_model_is_novas(self):
        _, nova_instance = self.config(drvr=self.nova)
        _, stx_instance = self.config()
        self.assertEqual(nova_instance.vcpu_model.obj_to_primitive(),
                         stx_instance.vcpu_model.obj_to_primitive())


class CpuModelTest(GuestConfigTestCase):

    def test_named_model_custom_mode(self):
        self.can_run('Nehalem')
        guest, instance = self.config({MODEL.flavor: 'Nehalem'})
        self.assertEqual(('custom', 'Nehalem', 'exact'),
                         (guest.cpu.mode, guest.cpu.model, guest.cpu.match))
        # Nova's topology stays.
        self.assertEqual((2, 1, 1), (guest.cpu.sockets, guest.cpu.cores,
                                     guest.cpu.threads))
        self.assertEqual(('custom', 'Nehalem'),
                         (instance.vcpu_model.mode, instance.vcpu_model.model))
        self.assertEqual([('kvm', "<cpu mode=\"custom\" match=\"exact\">\n"
                                  "  <model>Nehalem</model>\n</cpu>\n")],
                         self.compared)

    def test_libvirt_is_asked_for_the_configured_virt_type(self):
        self.flags(virt_type='qemu', group='libvirt')
        self.can_run('Westmere')
        guest, _ = self.config({MODEL.flavor: 'Westmere'})
        self.assertEqual('Westmere', guest.cpu.model)
        self.assertEqual(['qemu'], [vt for vt, _ in self.compared])

    def test_image_model_from_system_metadata(self):
        self.can_run('Penryn')
        guest, _ = self.config(image_props={MODEL.image: 'Penryn'})
        self.assertEqual(('custom', 'Penryn'),
                         (guest.cpu.mode, guest.cpu.model))

    def test_passthrough(self):
        guest, instance = self.config({MODEL.flavor: 'Passthrough'})
        self.assertEqual(('host-passthrough', None),
                         (guest.cpu.mode, guest.cpu.model))
        self.assertEqual('host-passthrough', instance.vcpu_model.mode)
        self.assertIsNone(instance.vcpu_model.model)

    def test_passthrough_libvirt_does_not_offer(self):
        self.passthrough = 'no'
        exc = self.assertRaises(exception.ComputeResourcesUnavailable,
                                self.config, {MODEL.flavor: 'Passthrough'})
        self.assertIn('this host cannot give the guest vCPU model '
                      'Passthrough (hw:cpu_model): libvirt offers no '
                      'host-passthrough for virt type kvm', str(exc))

    def test_tsx_free_variant_when_only_it_runs(self):
        self.can_run('Haswell-noTSX')
        log = self.useFixture(fixtures.FakeLogger(level='INFO'))
        guest, instance = self.config({MODEL.flavor: 'Haswell'})
        self.assertEqual('Haswell-noTSX', guest.cpu.model)
        self.assertEqual('Haswell-noTSX', instance.vcpu_model.model)
        self.assertIn('vCPU model Haswell given as Haswell-noTSX',
                      log.output)

    def test_model_itself_preferred_over_variant(self):
        self.can_run('Haswell', 'Haswell-noTSX')
        guest, _ = self.config({MODEL.flavor: 'Haswell'})
        self.assertEqual('Haswell', guest.cpu.model)

    def test_host_that_cannot_run_it_says_why(self):
        self.can_run('Nehalem')
        exc = self.assertRaises(exception.ComputeResourcesUnavailable,
                                self.config, {MODEL.flavor: 'Haswell-IBRS'})
        self.assertEqual(
            'Insufficient compute resources: this host cannot give the '
            'guest vCPU model Haswell-IBRS (hw:cpu_model): Haswell-IBRS: '
            'libvirt says the kvm hypervisor cannot provide it '
            '(compareHypervisorCPU: incompatible); Haswell-noTSX-IBRS: '
            'libvirt says the kvm hypervisor cannot provide it '
            '(compareHypervisorCPU: incompatible).', str(exc))

    def test_model_unknown_to_libvirt(self):
        # Fake libvirt, like libvirt 9.0, does not know GraniteRapids.
        exc = self.assertRaises(exception.ComputeResourcesUnavailable,
                                self.config, {MODEL.flavor: 'GraniteRapids'})
        self.assertIn('GraniteRapids: unknown to libvirt', str(exc))

    def test_libvirt_error_is_the_reason(self):
        def broken(*args):
            raise fakelibvirt.make_libvirtError(
                fakelibvirt.libvirtError, 'internal error: boom',
                error_code=fakelibvirt.VIR_ERR_INTERNAL_ERROR)

        self.stub_out('nova.tests.fixtures.libvirt.Connection.'
                      'compareHypervisorCPU', broken)
        exc = self.assertRaises(exception.ComputeResourcesUnavailable,
                                self.config, {MODEL.flavor: 'Nehalem'})
        self.assertIn('Nehalem: internal error: boom', str(exc))

    def test_libvirt_without_comparison_lets_libvirt_check_at_start(self):
        def unsupported(*args):
            raise fakelibvirt.make_libvirtError(
                fakelibvirt.libvirtError, 'this function is not supported',
                error_code=fakelibvirt.VIR_ERR_NO_SUPPORT)

        self.stub_out('nova.tests.fixtures.libvirt.Connection.'
                      'compareHypervisorCPU', unsupported)
        guest, _ = self.config({MODEL.flavor: 'Nehalem'})
        self.assertEqual('Nehalem', guest.cpu.model)

    def test_one_gib_pages_add_pdpe1gb(self):
        self.can_run('Nehalem')
        guest, instance = self.config({MODEL.flavor: 'Nehalem'},
                                      page_kib=GIB_KIB)
        self.assertEqual({'pdpe1gb': 'require'}, self.features(guest.cpu))
        self.assertEqual(['pdpe1gb'],
                         [f.name for f in instance.vcpu_model.features])
        # libvirt was asked about the model with the feature.
        self.assertIn("<feature name=\"pdpe1gb\" policy=\"require\"/>",
                      self.compared[-1][1])

    def test_small_pages_no_pdpe1gb(self):
        self.can_run('Nehalem')
        guest, _ = self.config({MODEL.flavor: 'Nehalem'}, page_kib=2048)
        self.assertEqual({}, self.features(guest.cpu))

    def test_extra_flags_still_apply(self):
        self.flags(cpu_model_extra_flags=['+ssbd', '-pdpe1gb'],
                   group='libvirt')
        self.can_run('Nehalem')
        guest, _ = self.config({MODEL.flavor: 'Nehalem'}, page_kib=GIB_KIB)
        # The operator's -pdpe1gb stays as the operator set it.
        self.assertEqual({'ssbd': 'require', 'pdpe1gb': 'disable'},
                         self.features(guest.cpu))

    def test_key_beats_host_cpu_mode(self):
        self.can_run('Nehalem')
        for opts in ({'cpu_mode': 'host-passthrough'},
                     {'cpu_mode': 'none'},
                     {'cpu_mode': 'custom', 'cpu_models': ['Penryn']}):
            self.flags(group='libvirt', **opts)
            guest, _ = self.config({MODEL.flavor: 'Nehalem'})
            self.assertEqual(('custom', 'Nehalem'),
                             (guest.cpu.mode, guest.cpu.model), opts)

    def test_conflict_is_invalid_input(self):
        exc = self.assertRaises(exception.InvalidInput, self.config,
                                {MODEL.flavor: 'Nehalem'},
                                {MODEL.image: 'Haswell'})
        self.assertIn("hw_cpu_model must equal the flavor's hw:cpu_model "
                      "'Nehalem'", str(exc))

    def test_named_model_for_emulated_guest(self):
        exc = self.assertRaises(
            exception.InvalidInput, self.config, {MODEL.flavor: 'Nehalem'},
            {'hw_emulation_architecture': 'aarch64',
             'hw_machine_type': 'virt'})
        self.assertIn('the guest architecture is aarch64', str(exc))

    def test_traits_the_model_has(self):
        # Fake libvirt's expansion of every model holds aes and vmx.
        self.can_run('Nehalem')
        guest, _ = self.config({MODEL.flavor: 'Nehalem',
                                'trait:HW_CPU_X86_AESNI': 'required'})
        self.assertEqual('Nehalem', guest.cpu.model)

    def test_traits_the_model_lacks(self):
        self.can_run('Nehalem')
        exc = self.assertRaises(exception.InvalidInput, self.config,
                                {MODEL.flavor: 'Nehalem',
                                 'trait:HW_CPU_X86_AVX2': 'required'})
        self.assertIn("hw:cpu_model 'Nehalem' (Nehalem) lacks the CPU "
                      "features the flavor's required traits ask for: avx2",
                      str(exc))


class HpetTest(GuestConfigTestCase):

    def test_kvm_true_overrides_novas_default(self):
        guest, _ = self.config({HPET.flavor: 'true'})
        self.assertEqual([True], self.hpet(guest))
        nova_guest, _ = self.config(drvr=self.nova)
        self.assertEqual([False], self.hpet(nova_guest))

    def test_kvm_flavor_beats_image(self):
        log = self.useFixture(fixtures.FakeLogger(level='INFO'))
        guest, _ = self.config({HPET.flavor: 'false'}, {NOVA_HPET: 'true'})
        self.assertEqual([False], self.hpet(guest))
        self.assertIn('flavor hw:hpet=false overrides image '
                      'hw_time_hpet=true', log.output)

    def test_tcg_timer_added(self):
        # Nova sets no timers for TCG guests (QEMU's default: an HPET).
        self.flags(virt_type='qemu', group='libvirt')
        nova_guest, _ = self.config(drvr=self.nova)
        self.assertEqual([], self.hpet(nova_guest))
        for value, present in (('false', False), ('true', True)):
            guest, _ = self.config({HPET.flavor: value})
            self.assertEqual([present], self.hpet(guest))
            self.assertIn(f'<timer name="hpet" present='
                          f'"{"yes" if present else "no"}"/>',
                          guest.to_xml())

    def test_other_architectures_warn_and_get_no_hpet(self):
        self.flags(virt_type='qemu', group='libvirt')
        log = self.useFixture(fixtures.FakeLogger(level='WARNING'))
        guest, _ = self.config({HPET.flavor: 'true'},
                               {'hw_emulation_architecture': 'aarch64',
                                'hw_machine_type': 'virt'})
        self.assertEqual([], self.hpet(guest))
        self.assertIn('hw:hpet=true ignored: only x86 guests have an HPET '
                      '(guest architecture aarch64)', log.output)

    def test_invalid_value(self):
        exc = self.assertRaises(exception.InvalidInput, self.config,
                                {HPET.flavor: 'yes'})
        self.assertIn("hw:hpet must be 'true' or 'false'", str(exc))


class SpawnTest(GuestConfigTestCase):

    def setUp(self):
        super().setUp()
        self.nova_spawn = self.useFixture(fixtures.MockPatchObject(
            libvirt_driver.LibvirtDriver, 'spawn')).mock

    def spawn(self, extra_specs, image_props=None):
        instance, image_meta = make_instance(extra_specs, image_props)
        self.drvr.spawn(nova_context.get_admin_context(), instance,
                        image_meta, [], None, {})
        return instance

    def test_conflict_aborts_before_nova_creates_anything(self):
        exc = self.assertRaises(exception.BuildAbortException, self.spawn,
                                {MODEL.flavor: 'Nehalem'},
                                {MODEL.image: 'Haswell'})
        self.assertIn('aborted: Invalid input received: hw_cpu_model must '
                      "equal the flavor's hw:cpu_model 'Nehalem' (Image vCPU "
                      'model is not permitted to override configuration '
                      "set against the flavor); got 'Haswell'.", str(exc))
        self.nova_spawn.assert_not_called()

    def test_invalid_value_aborts(self):
        self.assertRaises(exception.BuildAbortException, self.spawn,
                          {HPET.flavor: 'on'})
        self.nova_spawn.assert_not_called()

    def test_host_that_cannot_run_the_model_reschedules(self):
        self.can_run('Penryn')
        self.assertRaises(exception.ComputeResourcesUnavailable, self.spawn,
                          {MODEL.flavor: 'Nehalem'})
        self.nova_spawn.assert_not_called()

    def test_spawns_when_the_host_can(self):
        self.can_run('Nehalem')
        instance = self.spawn({MODEL.flavor: 'Nehalem'})
        self.nova_spawn.assert_called_once_with(
            mock.ANY, instance, mock.ANY, [], None, {}, network_info=None,
            block_device_info=None, power_on=True, accel_info=None)

    def test_no_key_goes_straight_to_nova(self):
        self.spawn({})
        self.assertEqual(1, self.nova_spawn.call_count)
        self.assertEqual([], self.compared)


class ResizeTest(GuestConfigTestCase):

    def setUp(self):
        super().setUp()
        self.nova_migrate = self.useFixture(fixtures.MockPatchObject(
            libvirt_driver.LibvirtDriver, 'migrate_disk_and_power_off')).mock

    def resize(self, new_specs, image_props):
        instance, _ = make_instance({}, image_props)
        flavor = objects.Flavor(extra_specs=new_specs)
        return self.drvr.migrate_disk_and_power_off(
            nova_context.get_admin_context(), instance, 'dest', flavor, [])

    def test_new_flavor_conflicting_with_image_rolls_back(self):
        exc = self.assertRaises(exception.InstanceFaultRollback, self.resize,
                                {MODEL.flavor: 'Nehalem'},
                                {MODEL.image: 'Haswell'})
        self.assertIsInstance(exc.inner_exception, exception.InvalidInput)
        self.assertIn("hw_cpu_model must equal the flavor's hw:cpu_model "
                      "'Nehalem'", str(exc.inner_exception))
        self.nova_migrate.assert_not_called()

    def test_compatible_resize_is_novas(self):
        self.resize({MODEL.flavor: 'Haswell'}, {MODEL.image: 'Haswell'})
        self.nova_migrate.assert_called_once_with(
            mock.ANY, mock.ANY, 'dest', mock.ANY, [], block_device_info=None,
            timeout=0, retry_interval=0)


class CompareCpuTest(GuestConfigTestCase):
    """Nova's live-migration CPU check on the destination."""

    def vcpu_model(self, model):
        return objects.VirtCPUModel(arch='x86_64', mode='custom',
                                    match='exact', model=model, features=[])

    def test_tcg_named_model_asks_libvirt(self):
        self.flags(virt_type='qemu', group='libvirt')
        self.can_run('Nehalem')
        instance, _ = make_instance({MODEL.flavor: 'Nehalem'})
        self.drvr._compare_cpu(self.vcpu_model('Nehalem'), None, instance)
        self.assertEqual(['qemu'], [vt for vt, _ in self.compared])
        exc = self.assertRaises(exception.InvalidCPUInfo,
                                self.drvr._compare_cpu,
                                self.vcpu_model('Nehalem-IBRS'), None,
                                instance)
        self.assertIn('vCPU model Nehalem-IBRS: libvirt says the qemu '
                      'hypervisor cannot provide it', str(exc))

    def test_tcg_without_key_is_novas_skip(self):
        self.flags(virt_type='qemu', group='libvirt')
        self.can_run()
        instance, _ = make_instance({})
        self.drvr._compare_cpu(self.vcpu_model('Nehalem'), None, instance)
        self.assertEqual([], self.compared)

    def test_kvm_is_novas_comparison(self):
        self.can_run('Nehalem')
        instance, _ = make_instance({MODEL.flavor: 'Nehalem'})
        with mock.patch.object(libvirt_driver.LibvirtDriver,
                               '_compare_cpu') as nova_compare:
            self.drvr._compare_cpu(self.vcpu_model('Nehalem'), None,
                                   instance)
        nova_compare.assert_called_once_with(mock.ANY, None, instance)

    def test_live_migration_precheck_refuses_on_tcg(self):
        self.flags(virt_type='qemu', group='libvirt')
        self.can_run('Penryn')
        instance, _ = make_instance({MODEL.flavor: 'Nehalem'})
        instance.vcpu_model = self.vcpu_model('Nehalem')
        self.assertRaises(
            exception.MigrationPreCheckError,
            self.drvr.check_can_live_migrate_destination,
            nova_context.get_admin_context(), instance,
            {'cpu_info': '{}'}, {'disk_available_least': 1,
                                 'free_disk_gb': 1})


class SignatureDriftTest(test.NoDBTestCase):
    """Nova's code the guest-config seams override or call."""

    OVERRIDES = ('spawn', '_get_guest_config', '_compare_cpu',
                 'migrate_disk_and_power_off')
    CALLED = {
        '_check_emulation_arch': ['self', 'image_meta'],
        '_get_guest_cpu_model_config': ['self', 'flavor', 'arch'],
        '_get_cpu_model_mapping': ['self', 'model'],
        '_cpu_config_to_vcpu_model': ['self', 'cpu_config', 'vcpu_model'],
        '_vcpu_model_to_cpu_config': ['self', 'vcpu_model'],
        '_match_cpu_model_by_flags': ['self', 'models', 'flags'],
    }

    def test_overrides_match_nova_signatures(self):
        for name in self.OVERRIDES:
            self.assertEqual(
                inspect.signature(getattr(libvirt_driver.LibvirtDriver,
                                          name)),
                inspect.signature(getattr(driver.LibvirtDriver, name)),
                f'Nova changed LibvirtDriver.{name}; review the nova-stx '
                f'override of it before upgrading.')

    def test_called_methods_unchanged(self):
        for name, params in self.CALLED.items():
            self.assertEqual(
                params, list(inspect.signature(getattr(
                    libvirt_driver.LibvirtDriver, name)).parameters),
                f'Nova changed LibvirtDriver.{name}, which '
                f'nova_stx.virt.libvirt.guest_config calls.')

    def test_nova_still_works_as_the_seams_assume(self):
        source = inspect.getsource
        cls = libvirt_driver.LibvirtDriver
        for method, needle in (
                (cls._get_guest_config, 'guest.cpu = self._get_guest_cpu_'
                                        'config('),
                (cls._get_guest_config, 'instance.vcpu_model = self._cpu_'
                                        'config_to_vcpu_model('),
                (cls._set_kvm_timers, "'hw_time_hpet'"),
                (cls._compare_cpu, "CONF.libvirt.virt_type not in ['kvm']"),
                (cls.spawn, 'self._create_image('),
                (cls.spawn, 'self._get_guest_xml(')):
            self.assertIn(needle, source(method),
                          f'Nova changed {method.__name__}; the nova-stx '
                          f'guest-config seams rely on it.')

    def test_fake_libvirt_domain_caps_still_offer_passthrough(self):
        # GuestConfigTestCase turns this entry off to test refusal.
        self.assertIn("<mode name='host-passthrough' supported='yes'/>",
                      libvirt_data.DOMCAPABILITIES_X86_64_TEMPLATE)


class GuestEffectsTest(test.NoDBTestCase):

    def test_reads_flavor_and_system_metadata(self):
        instance, _ = make_instance({HPET.flavor: 'true'},
                                    {MODEL.image: 'Nehalem'})
        effects = guest_config.guest_effects(instance)
        self.assertEqual(('Nehalem', keys.Source.IMAGE, True),
                         (effects.model, effects.model_source, effects.hpet))
