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

"""nova-stx's libvirt driver on a lab host, doing what ``spawn`` does.

:class:`LabCompute` builds the nova-stx ``LibvirtDriver`` (or Nova's own,
for comparison) against one lab daemon and runs Nova's code for a new
guest: the spawn-time key check, ``_get_guest_xml`` (the full domain XML
Nova generates) and ``_create_guest`` (define and start). What it leaves
out is the image backend: instead of fetching an image, the instance
directory gets the lab kernel, booted directly as an image with a
``kernel_id`` is, and an empty raw disk the guest never reads.

The instance is a Nova ``Instance`` object as the compute node sees it:
flavor extra specs, image properties in its system metadata under
``image_``, an ``ImageMeta`` with the properties Nova knows.
"""

import os
import shutil
import uuid

from nova import context as nova_context
from nova import objects
from nova.tests.unit import fake_instance
from nova.virt import fake
from nova.virt.libvirt import blockinfo
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import utils as libvirt_utils

from nova_stx.virt.libvirt import driver as stx_driver
from nova_stx.virt.libvirt import guest_config

MEMORY_MIB = 128
#: Nova's attributes of an instance the guest config reads.
_EXPECTED_ATTRS = ('system_metadata', 'metadata', 'numa_topology',
                   'vcpu_model', 'pci_devices', 'trusted_certs',
                   'resources')


class FrozenTime:
    """Stands in for ``nova.virt.driver.time``: Nova writes the instance's
    creation time into the domain XML, which two XMLs compared byte for
    byte must share."""

    @staticmethod
    def time():
        return 1767225600.0


def make_instance(extra_specs=None, image_props=None, memory_mb=MEMORY_MIB,
                  vcpus=1, page_kib=None, direct_boot=True,
                  instance_uuid=None):
    """Return ``(instance, image_meta)`` as the compute node sees them.

    :param extra_specs: flavor extra specs.
    :param image_props: image properties; Nova keeps all of them in the
        instance's system metadata and the ones it knows in
        ``image_meta``.
    :param page_kib: back the guest's one NUMA cell with pages of this
        size (pinned CPUs); None: no NUMA topology.
    :param direct_boot: give the instance a kernel, booted directly (as an
        image with ``kernel_id`` is); else it boots from its disk.
    :param instance_uuid: a fixed UUID; a new one by default.
    """
    image_props = dict(image_props or {})
    flavor = objects.Flavor(
        name='lab', flavorid='lab', id=1, memory_mb=memory_mb, vcpus=vcpus,
        root_gb=0, ephemeral_gb=0, swap=0, rxtx_factor=1.0, vcpu_weight=0,
        disabled=False, is_public=True, description=None,
        extra_specs=dict(extra_specs or {}))
    image_id = str(uuid.uuid4())
    instance = fake_instance.fake_instance_obj(
        nova_context.get_admin_context(),
        uuid=instance_uuid or str(uuid.uuid4()), flavor=flavor,
        memory_mb=memory_mb, vcpus=vcpus, root_gb=0, ephemeral_gb=0,
        kernel_id=str(uuid.uuid4()) if direct_boot else None,
        ramdisk_id='' if direct_boot else None, image_ref=image_id,
        vcpu_model=None, os_type='linux',
        system_metadata={f'image_{k}': v for k, v in image_props.items()},
        expected_attrs=list(_EXPECTED_ATTRS))
    # NOTE(nova-stx): fake_instance_obj takes extras from a database row.
    instance.numa_topology = None
    if page_kib:
        cpus = set(range(vcpus))
        instance.numa_topology = objects.InstanceNUMATopology(cells=[
            objects.InstanceNUMACell(
                id=0, cpuset=set(), pcpuset=cpus, memory=memory_mb,
                pagesize=page_kib, cpu_policy='dedicated',
                cpu_pinning={cpu: cpu for cpu in cpus})])
    known = {k: v for k, v in image_props.items()
             if k in objects.ImageMetaProps.fields}
    image_meta = objects.ImageMeta.from_dict({
        'id': image_id, 'name': 'lab', 'disk_format': 'raw',
        'container_format': 'bare', 'properties': known})
    return instance, image_meta


class LabCompute:
    """One lab host as a nova-compute with the nova-stx libvirt driver.

    :param conf: an ``oslo_config.fixture.Config`` over Nova's CONF; the
        host's URI is set in it while the driver is built (the driver
        keeps it), with ``virt_type`` and ``instances_path``.
    :param lab_host: a :class:`~nova_stx.tests.lab.host.Host`.
    :param instances_path: Nova's ``[DEFAULT] instances_path``.
    :param virt_type: ``qemu`` (TCG) or ``kvm``.
    :param nova_only: build Nova's own ``LibvirtDriver`` instead.
    """

    def __init__(self, conf, lab_host, instances_path, virt_type='qemu',
                 nova_only=False):
        conf.config(connection_uri=lab_host.uri, virt_type=virt_type,
                    images_type='raw', group='libvirt')
        conf.config(instances_path=instances_path)
        cls = (libvirt_driver.LibvirtDriver if nova_only
               else stx_driver.LibvirtDriver)
        self.driver = cls(fake.FakeVirtAPI(), False)
        self.host = lab_host
        self.context = nova_context.get_admin_context()

    def guest_xml(self, instance, image_meta):
        """Run the spawn-time check, then return Nova's domain XML."""
        if isinstance(self.driver, stx_driver.LibvirtDriver):
            guest_config.check_spawn(self.driver, instance, image_meta)
        disk_info = blockinfo.get_disk_info(
            libvirt_driver.CONF.libvirt.virt_type, instance, image_meta)
        return self.driver._get_guest_xml(self.context, instance, [],
                                          disk_info, image_meta)

    def start(self, instance, xml, kernel):
        """Define and start ``xml`` through Nova's ``_create_guest``.

        :param kernel: the lab kernel, copied to where Nova's XML boots
            it from.
        :returns: Nova's ``Guest``.
        """
        path = libvirt_utils.get_instance_path(instance)
        os.makedirs(path, exist_ok=True)
        shutil.copy(kernel, os.path.join(path, 'kernel'))
        with open(os.path.join(path, 'disk'), 'wb') as disk:
            disk.truncate(1024 * 1024)
        return self.driver._create_guest(self.context, xml, instance)


def console_log(instance):
    """Where Nova's XML sends the guest's serial console."""
    return os.path.join(libvirt_utils.get_instance_path(instance),
                        'console.log')
