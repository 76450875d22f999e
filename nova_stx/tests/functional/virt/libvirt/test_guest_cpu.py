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

"""The guest's vCPU model through Nova's API, scheduler and computes.

Real API, conductor, scheduler (with ``StxVCpuModelFilter``) and
placement; fake-libvirt computes running ``compute_driver =
nova_stx.LibvirtDriver``. Each host reports a CPU model; its "libvirt"
can run that model and every older one of its family, which is what
real libvirt says on such a CPU (fake libvirt itself only knows the
host's own model name). The domain XML checked is the one the driver
handed to libvirt.
"""

import xml.etree.ElementTree as ElementTree

from nova import context as nova_context
from nova import objects
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.api import client
from nova.tests.functional.libvirt import base as libvirt_base
from nova.virt.libvirt import driver as libvirt_driver

from nova_stx import cpu_models
from nova_stx import keys
from nova_stx.tests.functional import base
from nova_stx.virt.libvirt import alias

MODEL = keys.CPU_MODEL
#: hostname -> (CPU model, features) the host reports.
CPUS = {
    'host-nehalem': ('Nehalem', {'vmx', 'sse4.2'}),
    'host-haswell': ('Haswell', {'vmx', 'avx2'}),
    'host-skylake': ('Skylake-Server', {'vmx', 'avx2', 'avx512f'}),
    # Reports Skylake-Server, but its libvirt runs no named model (e.g.
    # a microcode update took features away).
    'host-degraded': ('Skylake-Server', {'vmx', 'avx2', 'avx512f'}),
}
CONFLICT = ('Image vCPU model is not permitted to override configuration '
            'set against the flavor')


def libvirt_runs(hostname, model):
    """Whether the libvirt of ``hostname`` can run ``model``."""
    if hostname == 'host-degraded':
        return False
    family = cpu_models.INTEL_MODELS
    host_model = CPUS[hostname][0]
    return (model in family and
            family.index(model) <= family.index(host_model))


class GuestCpuTestBase(libvirt_base.LibvirtMigrationMixin,
                       base.StxServersTestBase):

    ADMIN_API = True
    STX_FILTERS = ['StxVCpuModelFilter']
    microversion = '2.86'

    def setUp(self):
        super().setUp()
        self.stub_host_cpus(CPUS)

        def compare(conn, emulator, arch, machine, virttype, xml, flags):
            model = ElementTree.fromstring(xml).findtext('model')
            self.compared.append((conn.getHostname(), model))
            return 2 if libvirt_runs(conn.getHostname(), model) else 0

        real_define = fakelibvirt.Connection.defineXML
        real_create = fakelibvirt.Connection.createXML

        def define(conn, xml):
            self._handed(conn, xml)
            return real_define(conn, xml)

        def create(conn, xml, flags):
            self._handed(conn, xml)
            return real_create(conn, xml, flags)

        self.compared = []
        #: (hostname, instance uuid) -> the domain XML libvirt was given.
        self.handed = {}
        self.stub_out('nova.tests.fixtures.libvirt.Connection.defineXML',
                      define)
        self.stub_out('nova.tests.fixtures.libvirt.Connection.createXML',
                      create)
        self.stub_out('nova.tests.fixtures.libvirt.Connection.'
                      'compareHypervisorCPU', compare)
        # NOTE(nova-stx): Nova's harness mocks image creation; the mock
        # tells whether spawn got that far.
        self.create_image = libvirt_driver.LibvirtDriver._create_image

    def _handed(self, conn, xml):
        uuid = ElementTree.fromstring(xml).findtext('uuid')
        self.handed[(conn.getHostname(), uuid)] = xml

    def _setup_compute_service(self):
        alias.register()
        self.flags(compute_driver=alias.COMPUTE_DRIVER)

    def start(self, *hostnames, **memory):
        for name in hostnames:
            self.start_compute(name, fakelibvirt.HostInfo(
                cpu_nodes=1, cpu_sockets=1, cpu_cores=4, cpu_threads=1,
                kB_mem=memory.get(name, 8388608)))

    def boot(self, extra_specs, image_properties=None, host=None,
             expected_state='ACTIVE'):
        flavor_id = self._create_flavor(extra_spec=extra_specs)
        image_id = (self.glance_image(image_properties)
                    if image_properties else None)
        server = self._build_server(flavor_id=flavor_id, image_uuid=image_id,
                                    networks='none', host=host)
        server = self.api.post_server({'server': server})
        return self._wait_for_state_change(server, expected_state)

    def domain_cpu(self, hostname, server):
        """The ``<cpu>`` of the domain XML handed to ``hostname``'s libvirt."""
        xml = self.handed[(hostname, server['id'])]
        cpu = ElementTree.fromstring(xml).find('./cpu')
        return cpu.get('mode'), cpu.findtext('model')

    def domains(self, hostname):
        conn = self.computes[hostname].driver._host.get_connection()
        return conn.listAllDomains(
            fakelibvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE |
            fakelibvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE)

    def vcpu_model(self, server):
        instance = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'],
            expected_attrs=['vcpu_model'])
        return instance.vcpu_model

    def _migrate_to(self, server, host, force=False):
        self.src = self.computes[server['OS-EXT-SRV-ATTR:host']]
        self.dest = self.computes[host]
        self.server = server
        body = {'os-migrateLive': {'host': host, 'block_migration': 'auto'}}
        api = self.admin_api
        if force:
            # NOTE(nova-stx): 2.30-2.67 may force a host past the
            # scheduler; only the compute's own checks then stand.
            body['os-migrateLive']['force'] = True
            api.microversion = '2.30'
        try:
            api.post_server_action(server['id'], body)
        finally:
            api.microversion = self.microversion


class GuestCpuModelTest(GuestCpuTestBase):

    def test_boot_lands_on_a_compatible_host_with_the_model(self):
        self.start('host-nehalem', 'host-skylake')
        server = self.boot({MODEL.flavor: 'Haswell'})
        self.assertEqual('host-skylake', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(('custom', 'Haswell'),
                         self.domain_cpu('host-skylake', server))
        vcpu_model = self.vcpu_model(server)
        self.assertEqual(('custom', 'Haswell'),
                         (vcpu_model.mode, vcpu_model.model))

    def test_image_model_from_glance_reaches_the_guest(self):
        self.start('host-nehalem')
        server = self.boot({}, image_properties={MODEL.image: 'Nehalem'})
        self.assertEqual(('custom', 'Nehalem'),
                         self.domain_cpu('host-nehalem', server))

    def test_flavor_image_conflict_is_an_error_with_the_fault(self):
        self.start('host-nehalem', 'host-skylake')
        server = self.boot({MODEL.flavor: 'Nehalem'},
                           image_properties={MODEL.image: 'Haswell'},
                           expected_state='ERROR')
        message = server['fault']['message']
        self.assertIn(CONFLICT, message)
        self.assertIn("hw_cpu_model must equal the flavor's hw:cpu_model "
                      "'Nehalem'", message)
        self.assertIn("got 'Haswell'", message)
        self.assertIn('aborted', message)
        # Refused before Nova created anything, and not rescheduled.
        self.create_image.assert_not_called()
        for host in ('host-nehalem', 'host-skylake'):
            self.assertEqual([], self.domains(host))
        self.assertIsNone(server['OS-EXT-SRV-ATTR:host'])

    def test_host_that_cannot_provide_it_reschedules(self):
        # More free RAM: the scheduler tries host-degraded first.
        self.start('host-skylake', 'host-degraded',
                   **{'host-degraded': 16777216})
        server = self.boot({MODEL.flavor: 'Haswell'})
        self.assertEqual('host-skylake', server['OS-EXT-SRV-ATTR:host'])
        self.assertIn(('host-degraded', 'Haswell'), self.compared)
        self.assertEqual([], self.domains('host-degraded'))
        self.assertIn('this host cannot give the guest vCPU model Haswell '
                      '(hw:cpu_model)', self.stdlog.logger.output)

    def test_host_that_cannot_provide_it_alone_errors(self):
        self.start('host-degraded')
        server = self.boot({MODEL.flavor: 'Haswell'},
                           expected_state='ERROR')
        self.assertIn('Exhausted all hosts available for retrying build '
                      'failures', server['fault']['message'])
        self.assertEqual([], self.domains('host-degraded'))

    def test_live_migration_older_refused_newer_accepted(self):
        self.start('host-nehalem', 'host-haswell', 'host-skylake')
        server = self.boot({MODEL.flavor: 'Haswell'}, host='host-haswell')
        self.assertEqual('host-haswell', server['OS-EXT-SRV-ATTR:host'])

        # Older: the scheduler's filter refuses it.
        try:
            self._migrate_to(server, 'host-nehalem')
        except client.OpenStackApiException as exc:
            # Nova's fixture turns the conductor's cast into a call, so
            # NoValidHost can surface as an API error here.
            self.assertEqual(500, exc.response.status_code)
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('host-haswell', server['OS-EXT-SRV-ATTR:host'])

        # Older, forced past the scheduler: the destination compares the
        # CPU the instance records (Haswell) and refuses before starting.
        self.compared.clear()
        try:
            self._migrate_to(server, 'host-nehalem', force=True)
        except client.OpenStackApiException as exc:
            # The conductor's call again: the pre-check error reaches the
            # API caller as a 400.
            self.assertEqual(400, exc.response.status_code)
            self.assertIn('Migration pre-check error: Unacceptable CPU info',
                          str(exc))
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('host-haswell', server['OS-EXT-SRV-ATTR:host'])
        self.assertIn(('host-nehalem', 'Haswell'), self.compared)
        self.assertFalse(self.migrate_stub_ran)

        # Newer: accepted, and the guest keeps its model there.
        self._migrate_to(server, 'host-skylake')
        self._wait_for_migration_status(server, ['completed'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertTrue(self.migrate_stub_ran)
        self.assertEqual('host-skylake', server['OS-EXT-SRV-ATTR:host'])
        # NOTE(nova-stx): the destination XML is the source domain's, which
        # fake libvirt does not keep whole; the real-libvirt tests read the
        # guest's CPUID after a migration. The record stays the model.
        vcpu_model = self.vcpu_model(server)
        self.assertEqual(('custom', 'Haswell'),
                         (vcpu_model.mode, vcpu_model.model))

    def test_image_model_the_scheduler_cannot_see_lands_where_it_runs(self):
        # More free RAM: the scheduler, blind to hw_cpu_model, tries
        # host-nehalem first; its libvirt cannot run Haswell.
        self.start('host-nehalem', 'host-skylake',
                   **{'host-nehalem': 16777216})
        server = self.boot({}, image_properties={MODEL.image: 'Haswell'})
        self.assertEqual('host-skylake', server['OS-EXT-SRV-ATTR:host'])
        self.assertIn(('host-nehalem', 'Haswell'), self.compared)
        self.assertEqual(('custom', 'Haswell'),
                         self.domain_cpu('host-skylake', server))

    def test_hpet_reaches_the_domain(self):
        self.start('host-nehalem')
        for value, present in (('true', 'yes'), ('false', 'no')):
            server = self.boot({keys.HPET_ENABLED.flavor: value})
            xml = ElementTree.fromstring(
                self.handed[('host-nehalem', server['id'])])
            self.assertEqual([present], [
                t.get('present') for t in xml.iterfind('./clock/timer')
                if t.get('name') == 'hpet'])

    def test_no_key_guest_cpu_is_novas(self):
        self.start('host-nehalem')
        server = self.boot({})
        self.assertEqual(('host-model', None),
                         self.domain_cpu('host-nehalem', server))
        self.assertEqual([], self.compared)


class GuestCpuResizeTest(GuestCpuTestBase):
    """A resize, with RPC casts as casts, as in production."""

    # NOTE(nova-stx): with casts made calls, the source compute's
    # rolled-back failure would travel back up into the destination's
    # prep_resize and be rescheduled from there, which production
    # never does.
    CAST_AS_CALL = False

    def test_resize_to_a_conflicting_flavor_is_rolled_back(self):
        self.start('host-haswell', 'host-skylake')
        server = self.boot({}, image_properties={MODEL.image: 'Haswell'},
                           host='host-haswell')
        flavor_id = self._create_flavor(extra_spec={MODEL.flavor: 'Nehalem'})
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': flavor_id}})
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('host-haswell', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual([], self.domains('host-skylake'))
        self.assertIn("Setting instance back to active after: Instance "
                      "rollback performed due to: Invalid input received: "
                      "hw_cpu_model must equal the flavor's hw:cpu_model "
                      "'Nehalem'", self.stdlog.logger.output)
