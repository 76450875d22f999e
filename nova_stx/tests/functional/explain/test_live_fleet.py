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

"""``nova-stx explain`` on the live fleet: Nova's real databases.

The compute nodes are those two fake-libvirt computes reported into
Nova's API and cell databases; the command reads them as the scheduler
does and must give, host by host, the scheduler's own reasons.
"""

import io
import json
import os

import fixtures
from nova import context as nova_context

from nova_stx.cmd import cli
from nova_stx.explain import live
from nova_stx.tests.functional.scheduler import test_filters


class LiveFleetExplainTest(test_filters.TwoComputesTestBase):
    """Boot through Nova, then explain against the same databases."""

    def setUp(self):
        super().setUp()
        # NOTE(nova-stx): Nova's fixtures already point the database layer
        # at the test databases; configure() would re-read a nova.conf.
        self.useFixture(fixtures.MockPatchObject(live, 'configure'))

    def _explain(self, *argv):
        conf = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(conf, 'w') as f:
            f.write('[api_database]\nconnection = sqlite://\n')
        out, err = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        code = cli.main(['explain', '--config-file', conf, '-f', 'json',
                         *argv])
        rows = json.loads(out.getvalue()) if out.getvalue() else []
        return code, {r['Host']: r for r in rows}, err.getvalue()

    def test_host_states_are_the_scheduler_view(self):
        states, notes = live.host_states(nova_context.get_admin_context())
        self.assertEqual([], notes)
        self.assertEqual(['host-penryn', 'host-skylake'],
                         [s.host for s in states])
        by_host = {s.host: s for s in states}
        self.assertEqual(2, len(by_host['host-skylake'].numa_topology.cells))
        self.assertIn('Skylake-Server', by_host['host-skylake'].cpu_info)

    def test_same_reasons_as_the_scheduler(self):
        paged = self._boot({'hw:mem_page_size': '2MB'})
        self.assertEqual('host-skylake', paged['OS-EXT-SRV-ATTR:host'])
        scheduler_said = self._rejected('StxHugepageFilter')
        code, rows, err = self._explain(
            '--flavor-property', 'hw:cpu_policy=dedicated',
            '--flavor-property', 'hw:mem_page_size=2MB',
            '--vcpus', '2', '--ram-mb', '256')
        self.assertEqual(0, code, err)
        self.assertEqual('fits', rows['host-skylake']['Result'])
        self.assertEqual('rejected', rows['host-penryn']['Result'])
        self.assertEqual(
            dict(scheduler_said)['host-penryn'],
            rows['host-penryn']['Reasons']['StxHugepageFilter'])

    def test_usage_of_running_instances_is_seen(self):
        # host-skylake has 8 host CPUs in 2 cells of 2 cores x 2 threads;
        # a 4-vCPU pinned guest on one cell leaves 4 pCPUs free there.
        server = self._boot({'hw:mem_page_size': '2MB',
                             'hw:numa_nodes': '1'}, vcpus=4)
        self.assertEqual('host-skylake', server['OS-EXT-SRV-ATTR:host'])
        code, rows, err = self._explain(
            '--flavor-property', 'hw:cpu_policy=dedicated',
            '--flavor-property', 'hw:mem_page_size=2MB',
            '--flavor-property', 'hw:numa_nodes=2', '--vcpus', '8',
            '--ram-mb', '256')
        self.assertEqual(1, code, err)
        self.assertIn('No host fits (NoValidHost).', err)
        self.assertEqual(['StxCPUPinningFilter', 'StxNUMATopologyFilter'],
                         sorted(rows['host-skylake']['Reasons']))
        code, rows, err = self._explain(
            '--flavor-property', 'hw:cpu_policy=dedicated',
            '--flavor-property', 'hw:mem_page_size=2MB',
            '--flavor-property', 'hw:numa_nodes=1', '--vcpus', '4',
            '--ram-mb', '256')
        self.assertEqual(0, code, err)
        self.assertEqual('fits', rows['host-skylake']['Result'])

    def test_disabled_compute_is_noted(self):
        service = self.admin_api.get_services(
            host='host-penryn', binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {'status': 'disabled'})
        code, rows, err = self._explain()
        self.assertEqual(0, code, err)
        self.assertIn('Note: host-penryn: nova-compute is disabled or '
                      'forced down; ComputeFilter rejects it', err)
