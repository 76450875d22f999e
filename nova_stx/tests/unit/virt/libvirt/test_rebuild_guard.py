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

"""The rebuild guard: refuse before Nova's default rebuild destroys."""

import inspect
from unittest import mock
import uuid

import fixtures
from nova.compute import manager as compute_manager
from nova import context as nova_context
from nova import exception
from nova import test
from nova.virt import driver as virt_driver
from nova.virt.libvirt import config as vconfig
from nova.virt.libvirt import driver as libvirt_driver
from oslotest import base

from nova_stx import keys
from nova_stx.tests.unit.virt.libvirt import test_guest_config
from nova_stx.virt.libvirt import driver
from nova_stx.virt.libvirt import rebuild_guard

MODEL = keys.CPU_MODEL
HPET = keys.HPET_ENABLED
make_instance = test_guest_config.make_instance


def domain_xml(instance_uuid, root_type='image', root_id=None):
    """A domain with the Nova metadata Nova's driver writes."""
    meta = vconfig.LibvirtConfigGuestMetaNovaInstance()
    meta.package = '34.0.0'
    meta.name = 'guest'
    meta.roottype = root_type
    meta.rootid = root_id
    guest = vconfig.LibvirtConfigGuest()
    guest.virt_type = 'test'
    guest.name = f'instance-{instance_uuid[:8]}'
    guest.uuid = instance_uuid
    guest.memory = 65536
    guest.vcpus = 1
    guest.os_type = 'hvm'
    guest.metadata.append(meta)
    return guest.to_xml()


class GuardTest(test_guest_config.GuestConfigTestCase):

    def setUp(self):
        super().setUp()
        self.old_image = str(uuid.uuid4())
        self.glance_image = {
            'id': self.old_image, 'min_disk': 0, 'min_ram': 0,
            'disk_format': 'raw', 'container_format': 'bare',
            'properties': {'os_distro': 'cirros'}}
        self.glance_get = self.useFixture(fixtures.MockPatch(
            'nova.image.glance.API.get',
            return_value=self.glance_image)).mock
        self.xml = None
        guest = mock.Mock()
        guest.get_xml_desc.side_effect = lambda: self.xml
        self.useFixture(fixtures.MockPatchObject(
            self.drvr._host, 'get_guest', return_value=guest))
        self.nova_rebuild = self.useFixture(fixtures.MockPatchObject(
            virt_driver.ComputeDriver, 'rebuild',
            side_effect=NotImplementedError)).mock

    def instance(self, extra_specs, image_props):
        instance, image_meta = make_instance(extra_specs, image_props)
        self.xml = domain_xml(instance.uuid, root_id=self.old_image)
        return instance, image_meta

    def rebuild(self, instance, image_meta, evacuate=False):
        return self.drvr.rebuild(
            nova_context.get_admin_context(), instance, image_meta, [], None,
            {}, [], None, None, evacuate=evacuate)

    def test_no_key_goes_to_novas_default(self):
        instance, image_meta = self.instance({}, {})
        self.assertRaises(NotImplementedError, self.rebuild, instance,
                          image_meta)
        self.nova_rebuild.assert_called_once()
        self.assertEqual([], self.compared)
        self.glance_get.assert_not_called()

    def test_compatible_keys_go_to_novas_default(self):
        self.can_run('Nehalem')
        instance, image_meta = self.instance({MODEL.flavor: 'Nehalem'},
                                             {MODEL.image: 'Nehalem'})
        self.assertRaises(NotImplementedError, self.rebuild, instance,
                          image_meta)
        self.nova_rebuild.assert_called_once()

    def test_conflict_rolls_back_to_the_guests_image(self):
        instance, image_meta = self.instance({MODEL.flavor: 'Nehalem'},
                                             {MODEL.image: 'Haswell'})
        exc = self.assertRaises(exception.InstanceFaultRollback,
                                self.rebuild, instance, image_meta)
        self.assertIsInstance(exc.inner_exception,
                              exception.BuildAbortException)
        self.assertIn("hw_cpu_model must equal the flavor's hw:cpu_model "
                      "'Nehalem' (Image vCPU model is not permitted to "
                      "override configuration set against the flavor); got "
                      "'Haswell'.", exc.inner_exception.format_message())
        self.nova_rebuild.assert_not_called()
        self.assertEqual(self.old_image, instance.image_ref)
        self.assertEqual(
            {'image_os_distro': 'cirros', 'image_min_disk': '0',
             'image_min_ram': '0', 'image_disk_format': 'raw',
             'image_container_format': 'bare',
             'image_base_image_ref': self.old_image},
            {k: v for k, v in instance.system_metadata.items()
             if k.startswith('image_')})

    def test_invalid_hpet_refused(self):
        instance, image_meta = self.instance({HPET.flavor: 'on'}, {})
        exc = self.assertRaises(exception.InstanceFaultRollback,
                                self.rebuild, instance, image_meta)
        self.assertIn("hw:hpet must be 'true' or 'false'; got 'on'.",
                      exc.inner_exception.format_message())

    def test_host_that_cannot_run_the_new_model_refused_first(self):
        self.can_run('Penryn')
        instance, image_meta = self.instance({}, {MODEL.image: 'Nehalem'})
        exc = self.assertRaises(exception.InstanceFaultRollback,
                                self.rebuild, instance, image_meta)
        self.assertIsInstance(exc.inner_exception,
                              exception.BuildAbortException)
        self.assertIn('this host cannot give the guest vCPU model Nehalem '
                      '(hw_cpu_model)', exc.inner_exception.format_message())
        self.nova_rebuild.assert_not_called()

    def test_evacuate_keeps_the_record(self):
        instance, image_meta = self.instance({MODEL.flavor: 'Nehalem'},
                                             {MODEL.image: 'Haswell'})
        new_image = instance.image_ref
        self.assertRaises(exception.InstanceFaultRollback, self.rebuild,
                          instance, image_meta, evacuate=True)
        self.assertEqual(new_image, instance.image_ref)
        self.glance_get.assert_not_called()

    def test_image_gone_from_glance_keeps_the_record(self):
        self.glance_get.side_effect = exception.ImageNotFound(
            image_id=self.old_image)
        instance, image_meta = self.instance({MODEL.flavor: 'Nehalem'},
                                             {MODEL.image: 'Haswell'})
        new_image = instance.image_ref
        self.assertRaises(exception.InstanceFaultRollback, self.rebuild,
                          instance, image_meta)
        self.assertEqual(new_image, instance.image_ref)
        self.assertEqual('Haswell',
                         instance.system_metadata['image_hw_cpu_model'])
        self.assertIn(f'Cannot read image {self.old_image} the guest was '
                      f'built from', self.stdlog.logger.output)

    def test_volume_backed_guest_keeps_the_record(self):
        instance, image_meta = self.instance({MODEL.flavor: 'Nehalem'},
                                             {MODEL.image: 'Haswell'})
        self.xml = domain_xml(instance.uuid, 'volume', str(uuid.uuid4()))
        self.assertIsNone(rebuild_guard.guest_image(self.drvr, instance))
        self.assertRaises(exception.InstanceFaultRollback, self.rebuild,
                          instance, image_meta)
        self.glance_get.assert_not_called()

    def test_no_domain_keeps_the_record(self):
        instance, _ = self.instance({}, {})
        self.drvr._host.get_guest.side_effect = exception.InstanceNotFound(
            instance_id=instance.uuid)
        self.assertIsNone(rebuild_guard.guest_image(self.drvr, instance))


class RealLibvirtMetadataTest(base.BaseTestCase):
    """libvirt returns the Nova metadata the domain was defined with."""

    def test_guest_image_from_libvirts_test_driver(self):
        try:
            import libvirt
        except ImportError:
            self.skipTest('libvirt-python is not installed')
        instance_uuid, image_id = str(uuid.uuid4()), str(uuid.uuid4())
        conn = libvirt.open('test:///default')
        self.addCleanup(conn.close)
        domain = conn.defineXML(domain_xml(instance_uuid, root_id=image_id))
        self.addCleanup(domain.undefine)
        drvr = mock.Mock()
        drvr._host.get_guest.return_value.get_xml_desc.side_effect = (
            lambda: domain.XMLDesc(0))
        self.assertEqual(image_id, rebuild_guard.guest_image(
            drvr, mock.Mock(uuid=instance_uuid)))


class RebuildSignatureDriftTest(test.NoDBTestCase):
    """Nova's code the rebuild guard relies on."""

    def test_override_matches_compute_driver(self):
        self.assertEqual(
            inspect.signature(virt_driver.ComputeDriver.rebuild),
            inspect.signature(driver.LibvirtDriver.rebuild),
            "Nova changed ComputeDriver.rebuild; review the nova-stx "
            "override of it before upgrading.")

    def test_novas_libvirt_driver_has_no_rebuild_of_its_own(self):
        # super().rebuild() must raise NotImplementedError, so that Nova's
        # default implementation runs after the guard.
        self.assertNotIn('rebuild', vars(libvirt_driver.LibvirtDriver))
        self.assertRaises(NotImplementedError,
                          virt_driver.ComputeDriver.rebuild,
                          *[None] * 10)

    def test_manager_falls_back_and_rolls_back_as_assumed(self):
        module = inspect.getsource(compute_manager)

        def method(name):
            # NOTE(nova-stx): rebuild_instance's decorators hide its source.
            start = module.index(f'    def {name}(')
            end = module.index('\n    def ', start + 1)
            return module[start:end]

        for name, needle in (
                ('_do_rebuild_instance', 'self.driver.rebuild(**kwargs)'),
                ('_do_rebuild_instance', 'except NotImplementedError:'),
                ('_do_rebuild_instance',
                 'self._rebuild_default_impl(**kwargs)'),
                ('rebuild_instance',
                 'with self._error_out_instance_on_exception('),
                ('rebuild_instance', 'instance_state=instance_state'),
                ('_error_out_instance_on_exception',
                 'exception.InstanceFaultRollback'),
                ('_error_out_instance_on_exception',
                 'raise error.inner_exception'),
                ('_rebuild_default_impl', 'self.driver.destroy(')):
            self.assertIn(needle, method(name),
                          f'Nova changed ComputeManager.{name}; the nova-stx '
                          f'rebuild guard relies on it.')
        kwargs = list(inspect.signature(virt_driver.ComputeDriver.rebuild)
                      .parameters)[1:]
        self.assertEqual(
            ['context', 'instance', 'image_meta', 'injected_files',
             'admin_password', 'allocations', 'bdms', 'detach_block_devices',
             'attach_block_devices', 'network_info', 'evacuate',
             'block_device_info', 'preserve_ephemeral', 'accel_uuids',
             'reimage_boot_volume'], kwargs)
