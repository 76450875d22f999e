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

"""``[nova_stx] exact_numa_fit`` inside real Nova: boot, multi-create, move.

``host-sticky`` is a host on which upstream's search refuses a guest that
fits. Its cell 0 has 1 GiB pages but only one thread per core in
``cpu_dedicated_set``; cell 1 has SMT cores and 2 MiB pages. A guest
asking for ``hw:cpu_thread_policy=require`` and ``hw:mem_page_size=large``
fits cell 1. With ``[compute] packing_host_numa_cells_allocation_strategy``
upstream tries cell 0 first, settles the guest cell's page size to 1 GiB
there, fails on the threads, and then asks cell 1 for 1 GiB pages it does
not have (the reused, modified guest cell; see numa-fit.rst).
``host-plain`` has 2 MiB pages on both cells and less memory, so the
scheduler prefers ``host-sticky``.
"""

from unittest import mock

import fixtures
from nova.conductor import api as conductor_api
from nova import context
from nova import objects
from nova.scheduler import host_manager
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.api import client
from nova.tests.functional.libvirt import base as libvirt_base

from nova_stx import exact_numa
from nova_stx.scheduler.numa import nova_fit
from nova_stx.tests.functional import base

GUEST = {'hw:cpu_policy': 'dedicated', 'hw:cpu_thread_policy': 'require',
         'hw:mem_page_size': 'large'}
KIB_CELL = 8 * 1024 * 1024
SMALL_PAGES = (KIB_CELL - 2 * 1024 * 1024) // 4


def _host_info(kib_cell, pages):
    """2 cells x 3 cores x 2 threads; ``pages[cell]`` huge pages."""
    return fakelibvirt.HostInfo(
        cpu_nodes=2, cpu_sockets=1, cpu_cores=3, cpu_threads=2,
        kB_mem=2 * kib_cell, mempages={
            cell: fakelibvirt.create_mempages(
                [(4, (kib_cell - size * count) // 4), (size, count)])
            for cell, (size, count) in pages.items()})


class _ExactFitBase(libvirt_base.LibvirtMigrationMixin,
                    base.StxServersTestBase):

    STX_FILTERS = ['StxNUMATopologyFilter']
    ADMIN_API = True
    EXACT = None

    def setUp(self):
        self.addCleanup(exact_numa.uninstall)
        super().setUp()
        self.assertEqual(self.EXACT, exact_numa.installed())
        self.flags(cpu_dedicated_set='0,2,4,6-11', cpu_shared_set=None,
                   packing_host_numa_cells_allocation_strategy=True,
                   group='compute')
        self.start_compute('host-sticky', _host_info(
            KIB_CELL, {0: (1048576, 2), 1: (2048, 1024)}))
        self.start_compute('host-plain', _host_info(
            KIB_CELL // 2, {0: (2048, 1024), 1: (2048, 1024)}))
        self.reschedules = []
        real = conductor_api.ComputeTaskAPI.build_instances

        def build_instances(api, context, *args, **kwargs):
            # NOTE(nova-stx): a compute asking the conductor to build again
            # is a reschedule (the first build goes through
            # schedule_and_build_instances).
            self.reschedules.append(kwargs.get('instances'))
            return real(api, context, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.conductor.api.ComputeTaskAPI.build_instances',
            build_instances))
        self.flavor = self._create_flavor(vcpu=2, memory_mb=1024,
                                          extra_spec=GUEST)

    def _setup_scheduler_service(self):
        # NOTE(nova-stx): as an operator would: in nova.conf before
        # nova-scheduler starts; all_filters() installs it then.
        self.flags(exact_numa_fit=self.EXACT, group='nova_stx')
        return super()._setup_scheduler_service()

    def _topology(self, server):
        return objects.InstanceNUMATopology.get_by_instance_uuid(
            context.get_admin_context(), server['id'])

    def _host_topology(self, host):
        return objects.NUMATopology.obj_from_db_obj(
            objects.ComputeNode.get_by_nodename(
                context.get_admin_context(), host).numa_topology)

    def _assert_on_cell_1(self, server, host='host-sticky'):
        self.assertEqual(host, server['OS-EXT-SRV-ATTR:host'])
        cell = self._topology(server).cells[0]
        self.assertEqual((1, 2048), (cell.id, cell.pagesize))
        self.assertTrue(set(cell.cpu_pinning.values()) <= set(range(6, 12)))

    def _migrate_stub(self, domain, destination, params, flags):
        self.dest = self.computes['host-sticky']
        self.src = self.computes['host-plain']
        super()._migrate_stub(domain, destination, params, flags)


class ExactNumaFitEnabledTest(_ExactFitBase):

    EXACT = True

    def test_falsely_rejected_boot_lands_without_reschedule(self):
        server = self._create_server(flavor_id=self.flavor, networks='none')
        self._assert_on_cell_1(server)
        self.assertEqual([], self.reschedules)

    def test_multi_create_on_nearly_full_host_accounted_exactly(self):
        accounted = []
        real = host_manager.HostState.consume_from_request

        def consume(state, spec_obj):
            real(state, spec_obj)
            accounted.append(state.numa_topology)

        self.useFixture(fixtures.MonkeyPatch(
            'nova.scheduler.host_manager.HostState.consume_from_request',
            consume))
        # Cell 1 has 2 GiB of 2 MiB pages: room for exactly two guests.
        body = self._build_server(flavor_id=self.flavor, networks='none',
                                  host='host-sticky')
        body.update(min_count=2, max_count=2)
        self.api.post_server({'server': body})
        servers = [self._wait_for_state_change(s, 'ACTIVE')
                   for s in self.api.get_servers()]
        self.assertEqual(2, len(servers))
        pinned = set()
        for server in servers:
            self._assert_on_cell_1(server)
            pinned |= set(self._topology(server).cells[0].cpu_pinning.values())
        self.assertEqual(4, len(pinned))
        # What the scheduler accounted for the two equals what the claims
        # took on the compute.
        self.assertEqual(2, len(accounted))
        claimed = self._host_topology('host-sticky').cells[1]
        self.assertEqual(pinned, claimed.pinned_cpus)
        self.assertEqual(claimed.pinned_cpus,
                         accounted[1].cells[1].pinned_cpus)
        self.assertEqual([p.used for p in claimed.mempages],
                         [p.used for p in accounted[1].cells[1].mempages])
        self.assertEqual(512, accounted[0].cells[1].mempages[1].used)
        # The host is full now: the scheduler says so, no claim fails.
        third = self._create_server(flavor_id=self.flavor, networks='none',
                                    host='host-sticky',
                                    expected_state='ERROR')
        self.assertIn('No valid host', third['fault']['message'])
        self.assertEqual([], self.reschedules)

    def test_live_migration_claims_on_destination_with_exact_fit(self):
        server = self._create_server(flavor_id=self.flavor, networks='none',
                                     host='host-plain')
        self.server = server
        calls = self.useFixture(fixtures.MockPatchObject(
            nova_fit, 'fit_instance', wraps=nova_fit.fit_instance)).mock
        server = self._live_migrate(server, 'completed')
        self._assert_on_cell_1(server)
        # The destination's claim went through the exact fit: its host
        # topology is the one with 1 GiB pages on cell 0.
        self.assertTrue(any(
            {p.size_kb for p in call.args[0].cells[0].mempages} == {
                4, 1048576} for call in calls.call_args_list))
        self.assertEqual(set(), self._host_topology(
            'host-plain').cells[0].pinned_cpus)


class ExactNumaFitDisabledTest(_ExactFitBase):

    EXACT = False

    def test_falsely_rejected_boot_is_rescheduled(self):
        server = self._create_server(flavor_id=self.flavor, networks='none')
        # Upstream's claim refused host-sticky; the retry went elsewhere.
        self.assertEqual('host-plain', server['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(1, len(self.reschedules))

    def test_live_migration_claim_fails_upstream(self):
        server = self._create_server(flavor_id=self.flavor, networks='none',
                                     host='host-plain')
        self.server = server
        with mock.patch.object(nova_fit, 'fit_instance') as mine:
            # NOTE(nova-stx): the functional harness turns RPC casts into
            # calls, so the conductor's NoValidHost reaches the API.
            exc = self.assertRaises(
                client.OpenStackApiException, self.api.post_server_action,
                server['id'], {'os-migrateLive': {
                    'host': None, 'block_migration': 'auto'}})
        self.assertIn('NoValidHost', str(exc))
        self._wait_for_migration_status(server, ['error'])
        server = self.api.get_server(server['id'])
        self.assertEqual('host-plain', server['OS-EXT-SRV-ATTR:host'])
        mine.assert_not_called()
