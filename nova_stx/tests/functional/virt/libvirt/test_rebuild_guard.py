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

"""A rebuild the guest's vCPU model forbids, through Nova's API.

Real API, conductor, scheduler and compute manager (Nova's rebuild,
with its default implementation); fake-libvirt computes running
``compute_driver = nova_stx.LibvirtDriver``. Fake libvirt drops a
domain's ``<metadata>`` from ``XMLDesc``, which real libvirt returns
as it was defined (``nova_stx/tests/unit/virt/libvirt/
test_rebuild_guard.py`` checks that on libvirt's test driver); here it
is given back, so the driver can read the image the guest was built
from.
"""

import xml.etree.ElementTree as ElementTree

import fixtures
from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt

from nova_stx import keys
from nova_stx.tests.functional.virt.libvirt import test_guest_cpu
from nova_stx.virt.libvirt import rebuild_guard

MODEL = keys.CPU_MODEL
CONFLICT = ("hw_cpu_model must equal the flavor's hw:cpu_model 'Nehalem' "
            '(Image vCPU model is not permitted to override configuration '
            "set against the flavor); got 'Haswell'.")


class RebuildGuardTest(test_guest_cpu.GuestCpuTestBase):
    """Rebuilds with RPC casts as casts, as in production."""

    CAST_AS_CALL = False
    # NOTE(nova-stx): 2.84 gives instance-action events their details.
    microversion = '2.86'

    def setUp(self):
        super().setUp()
        real_init = fakelibvirt.Domain.__init__
        real_xml = fakelibvirt.Domain.XMLDesc

        def init(domain, connection, xml, *args, **kwargs):
            domain.defined_xml = xml
            real_init(domain, connection, xml, *args, **kwargs)

        def xml_desc(domain, flags):
            xml = ElementTree.fromstring(real_xml(domain, flags))
            metadata = ElementTree.fromstring(domain.defined_xml).find(
                'metadata')
            if metadata is not None and xml.find('metadata') is None:
                xml.append(metadata)
            return ElementTree.tostring(xml, encoding='unicode')

        self.stub_out('nova.tests.fixtures.libvirt.Domain.__init__', init)
        self.stub_out('nova.tests.fixtures.libvirt.Domain.XMLDesc', xml_desc)
        self.destroyed = []
        real_destroy = fakelibvirt.Domain.destroy

        def destroy(domain):
            self.destroyed.append(domain.UUIDString())
            return real_destroy(domain)

        self.stub_out('nova.tests.fixtures.libvirt.Domain.destroy', destroy)

    def image(self, properties):
        return self.glance_image(properties, name='stx-rebuild')

    def rebuild(self, server, image_id):
        self.api.post_server_action(server['id'],
                                    {'rebuild': {'imageRef': image_id}})

    def refused(self, server):
        """Wait for the compute's refusal; return the event and server."""
        event = self._wait_for_action_fail_completion(
            server, 'rebuild', 'compute_rebuild_instance')
        return event, self._wait_for_server_parameter(
            server, {'status': server['status'],
                     'OS-EXT-STS:task_state': None})

    def instance(self, server):
        return objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'],
            expected_attrs=['system_metadata'])

    def fault(self, server):
        return objects.InstanceFault.get_latest_for_instance(
            nova_context.get_admin_context(), server['id'])

    def boot_nehalem(self):
        """Boot a Nehalem guest on host-haswell; return it and its image."""
        self.start('host-haswell')
        image_id = self.image({'os_distro': 'cirros'})
        flavor_id = self._create_flavor(extra_spec={MODEL.flavor: 'Nehalem'})
        server = self._build_server(flavor_id=flavor_id, image_uuid=image_id,
                                    networks='none')
        server = self.api.post_server({'server': server})
        return self._wait_for_state_change(server, 'ACTIVE'), image_id

    def test_conflicting_image_refused_guest_untouched_active(self):
        server, old_image = self.boot_nehalem()
        self.assertEqual(1, len(self.domains('host-haswell')))
        self.handed.clear()
        new_image = self.image({MODEL.image: 'Haswell'})

        self.rebuild(server, new_image)
        event, server = self.refused(server)

        # ACTIVE, on its old image, with the guest as it was.
        self.assertEqual('ACTIVE', server['status'])
        self.assertEqual(old_image, server['image']['id'])
        self.assertEqual([], self.destroyed)
        self.assertEqual({}, self.handed)
        domains = self.domains('host-haswell')
        self.assertEqual([server['id']], [d.UUIDString() for d in domains])
        self.assertEqual(fakelibvirt.VIR_DOMAIN_RUNNING,
                         domains[0].info()[0])
        self.create_image.assert_called_once()
        # The record matches the guest: the new image's properties are
        # gone from the system metadata.
        instance = self.instance(server)
        self.assertEqual(old_image, instance.image_ref)
        self.assertEqual(old_image,
                         instance.system_metadata['image_base_image_ref'])
        self.assertNotIn('image_' + MODEL.image, instance.system_metadata)
        self.assertEqual('cirros', instance.system_metadata['image_os_distro'])
        # The reason, naming both keys and values: the instance fault and
        # the rebuild's instance-action event.
        self.assertIn(CONFLICT, self.fault(server).message)
        self.assertIn(CONFLICT, event['details'])
        self.assertIn('Rebuild refused before the guest was touched; back '
                      f'on image {old_image}', self.stdlog.logger.output)

        # The guest keeps working: a hard reboot rebuilds the same guest.
        self.api.post_server_action(server['id'],
                                    {'reboot': {'type': 'HARD'}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(('custom', 'Nehalem'),
                         self.domain_cpu('host-haswell', server))

    def test_invalid_image_model_refused(self):
        server, old_image = self.boot_nehalem()
        self.rebuild(server, self.image({MODEL.image: 'Pentium'}))
        event, server = self.refused(server)
        self.assertEqual(('ACTIVE', old_image),
                         (server['status'], server['image']['id']))
        self.assertIn('hw_cpu_model must be one of', event['details'])
        self.assertIn('hw_cpu_model must be one of: Passthrough, Conroe',
                      self.fault(server).message)
        # NOTE(nova-stx): Nova cuts faults and event details at 255
        # characters; the compute's log has the whole text.
        self.assertIn("got 'Pentium'.", self.stdlog.logger.output)
        self.assertEqual([], self.destroyed)

    def test_stopped_instance_stays_stopped(self):
        server, old_image = self.boot_nehalem()
        server = self._stop_server(server)
        self.rebuild(server, self.image({MODEL.image: 'Haswell'}))
        event, server = self.refused(server)
        self.assertEqual(('SHUTOFF', old_image),
                         (server['status'], server['image']['id']))
        self.assertIn(CONFLICT, event['details'])

    def test_compatible_image_rebuilds_as_nova_does(self):
        server, old_image = self.boot_nehalem()
        new_image = self.image({MODEL.image: 'Nehalem'})
        self.rebuild(server, new_image)
        server = self._wait_for_state_change(server, 'REBUILD')
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual(new_image, server['image']['id'])
        self.assertIn(server['id'], self.destroyed)
        self.assertEqual(('custom', 'Nehalem'),
                         self.domain_cpu('host-haswell', server))

    def test_without_the_guard_nova_destroys_the_guest_first(self):
        # What the guard prevents: Nova's default rebuild destroys the
        # guest, then the spawn refuses the conflict.
        self.useFixture(fixtures.MockPatchObject(rebuild_guard, 'check'))
        server, old_image = self.boot_nehalem()
        self.rebuild(server, self.image({MODEL.image: 'Haswell'}))
        server = self._wait_for_state_change(server, 'ERROR')
        self.assertIn(server['id'], self.destroyed)
        self.assertEqual([], self.domains('host-haswell'))
        self.assertIn(CONFLICT, server['fault']['message'])
