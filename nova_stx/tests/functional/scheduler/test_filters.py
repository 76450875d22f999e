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

"""The nova-stx filters inside real Nova: API, scheduler, placement.

Two fake-libvirt computes that differ in NUMA layout, SMT, hugepages and
CPU model; every guest is pinned (``cpu_dedicated_set`` covers all CPUs).
"""

import fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.functional.api import client

from nova_stx import keys
from nova_stx.scheduler import reasons
from nova_stx.tests.functional import base

#: hostname -> (CPU model, features) the fake libvirt reports.
CPUS = {
    'host-penryn': ('Penryn', {'vmx', 'ssse3', 'sse4.1'}),
    'host-skylake': ('Skylake-Server', {'vmx', 'avx2', 'avx512f'}),
}
ALL_FILTERS = ['StxVCpuModelFilter', 'StxHugepageFilter',
               'StxCPUPinningFilter', 'StxNUMATopologyFilter']


class TwoComputesTestBase(base.StxServersTestBase):
    """Two fake-libvirt computes with every nova-stx filter enabled."""

    STX_FILTERS = ALL_FILTERS

    def setUp(self):
        super().setUp()
        self.stub_host_cpus(CPUS)

        self.rejections = self.useFixture(fixtures.MockPatchObject(
            reasons, 'record', wraps=reasons.record)).mock
        self.flags(cpu_dedicated_set='0-7', cpu_shared_set=None,
                   group='compute')
        # 2 cells x 4 cores, no SMT, 4 KiB pages only.
        self.start_compute('host-penryn', fakelibvirt.HostInfo(
            cpu_nodes=2, cpu_sockets=1, cpu_cores=4, cpu_threads=1,
            kB_mem=8388608))
        # 2 cells x 2 cores x 2 threads, 256 x 2 MiB pages per cell.
        pages = {cell: fakelibvirt.create_mempages([(4, 786432),
                                                    (2048, 256)])
                 for cell in (0, 1)}
        self.start_compute('host-skylake', fakelibvirt.HostInfo(
            cpu_nodes=2, cpu_sockets=1, cpu_cores=2, cpu_threads=2,
            kB_mem=8388608, mempages=pages))

    def _boot(self, extra_spec, vcpus=2, memory_mb=256,
              expected_state='ACTIVE'):
        extra_spec = dict(extra_spec, **{'hw:cpu_policy': 'dedicated'})
        flavor = self._create_flavor(vcpu=vcpus, memory_mb=memory_mb,
                                     extra_spec=extra_spec)
        return self._create_server(flavor_id=flavor, networks='none',
                                   expected_state=expected_state)

    def _log(self):
        return self.stdlog.logger.output

    def _rejected(self, filter_name):
        """Hosts ``filter_name`` rejected so far, with the reasons."""
        return [(c.args[1].host, c.args[2])
                for c in self.rejections.call_args_list
                if c.args[0] == filter_name]


class StxFiltersTest(TwoComputesTestBase):

    def test_boot_lands_where_it_fits(self):
        # Placement offers both hosts (it does not model hugepages); the
        # hugepage filter keeps the host with 2 MiB pages.
        paged = self._boot({'hw:mem_page_size': '2MB'})
        self.assertEqual('host-skylake', paged['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(
            [('host-penryn', 'guest cell 0 fits no host cell: host cell 0 '
              'has no 2048 KiB pages; host cell 1 has no 2048 KiB pages')],
            self._rejected('StxHugepageFilter'))
        # 3.5 GiB on one NUMA node: host-skylake's cells hold 3 GiB of
        # small pages each, so only host-penryn fits.
        big = self._boot({'hw:numa_nodes': '1'}, memory_mb=3584)
        self.assertEqual('host-penryn', big['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(['host-skylake'], [
            host for host, _why in self._rejected('StxNUMATopologyFilter')])

    def test_impossible_request_is_no_valid_host_with_reasons(self):
        server = self._boot({keys.CPU_MODEL.flavor: 'Skylake-Server-IBRS'},
                            expected_state='ERROR')
        self.assertIn('No valid host', server['fault']['message'])
        log = self._log()
        self.assertIn('nova-stx filters left no host for instance '
                      f"{server['id']}", log)
        self.assertIn('Host VCPU model Penryn required Skylake-Server-IBRS '
                      '(host model is older)', log)
        self.assertIn('Host VCPU model Skylake-Server required '
                      'Skylake-Server-IBRS (host model is older)', log)
        self.assertEqual(1, log.count('nova-stx filters left no host'))

    def _live_migrate_refused(self, server, host):
        try:
            self.admin_api.post_server_action(
                server['id'], {'os-migrateLive': {
                    'host': host, 'block_migration': 'auto'}})
        except client.OpenStackApiException as exc:
            # NOTE(nova-stx): Nova's functional fixture turns the
            # conductor's cast into a call, so NoValidHost can surface as
            # an API error here; in production the migration just fails.
            self.assertEqual(500, exc.response.status_code)
        self._wait_for_migration_status(server, ['error'])
        return self._wait_for_state_change(server, 'ACTIVE')

    def test_live_migration_to_incompatible_host_refused(self):
        server = self._boot({keys.CPU_MODEL.flavor: 'Haswell'})
        self.assertEqual('host-skylake', server['OS-EXT-SRV-ATTR:host'])
        server = self._live_migrate_refused(server, 'host-penryn')
        self.assertEqual('host-skylake', server['OS-EXT-SRV-ATTR:host'])
        self.assertIn(('host-penryn', 'Host VCPU model Penryn required '
                       'Haswell (host model is older)'),
                      self._rejected('StxVCpuModelFilter'))

    def test_passthrough_live_migration_needs_source_cpu(self):
        server = self._boot({keys.CPU_MODEL.flavor: 'Passthrough'})
        source = server['OS-EXT-SRV-ATTR:host']
        target = ({'host-penryn', 'host-skylake'} - {source}).pop()
        server = self._live_migrate_refused(server, target)
        self.assertEqual(source, server['OS-EXT-SRV-ATTR:host'])
        # The source host's CPU was read from the database.
        rejected = dict(self._rejected('StxVCpuModelFilter'))
        self.assertIn(f'(source host model {CPUS[source][0]}, features '
                      f'differ: ', rejected[target])
