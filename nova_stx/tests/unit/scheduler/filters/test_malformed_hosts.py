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

"""Malformed host data is detected, explained and logged once per host.

The converters read the storage of Nova's objects (``_obj_<field>``), not
the properties that coerce values on assignment, so a stale or foreign
object can hand them any type; :func:`_tamper` stores such values the
same way.
"""

import json
import logging

import fixtures
from nova import objects
from nova.scheduler import filters as nova_filters

from nova_stx.scheduler.filters import base
from nova_stx.scheduler.filters import cpu_pinning_filter
from nova_stx.scheduler.filters import hugepage_filter
from nova_stx.scheduler.filters import numa_topology_filter
from nova_stx.scheduler.filters import vcpu_model_filter
from nova_stx.tests.unit.scheduler import fakes

MALFORMED = 'malformed host data: '


def _tamper(obj, **fields):
    for name, value in fields.items():
        vars(obj)['_obj_' + name] = value


def _pci_spec(nodes=2):
    spec = fakes.spec(vcpus=4, ram_mb=2048, hw__numa_nodes=str(nodes))
    spec.pci_requests = objects.InstancePCIRequests(requests=[
        objects.InstancePCIRequest(count=1, spec=[{'vendor_id': 'v'}],
                                   numa_policy='required', request_id=None,
                                   alias_name='a')])
    return spec


class MalformedHostTestCase(fakes.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(levelname)s %(message)s'))
        base.forget_reported_hosts()
        self.numa = numa_topology_filter.StxNUMATopologyFilter()
        self.pinning = cpu_pinning_filter.StxCPUPinningFilter()
        self.pages = hugepage_filter.StxHugepageFilter()
        self.vcpu = vcpu_model_filter.StxVCpuModelFilter()
        self.handler = nova_filters.HostFilterHandler()

    def _warnings(self, host='compute-0'):
        return [line for line in self.log.output.splitlines()
                if 'malformed host data' in line and 'WARNING' in line
                and host in line]

    def _rejected(self, filt, host_state, spec, text):
        """``filt`` rejects the host, saying ``text``; never a traceback."""
        reason = filt.reason(host_state, spec)
        self.assertIsNotNone(reason)
        self.assertTrue(reason.startswith(MALFORMED), reason)
        self.assertIn(text, reason)
        self.assertFalse(filt.host_passes(host_state, spec))
        self.assertNotIn('Traceback', self.log.output)
        self.assertNotIn('cannot evaluate', self.log.output)
        return reason

    def _cell_rejected(self, text, cell=0, filters=None, **fields):
        for filt in filters or (self.numa, self.pinning, self.pages):
            host = fakes.host()
            _tamper(host.numa_topology.cells[cell], **fields)
            spec = fakes.spec(hw__cpu_policy='dedicated',
                              hw__mem_page_size='small')
            self._rejected(filt, host, spec, text)

    def test_cell_memory_not_an_integer(self):
        self._cell_rejected('host cell 0: memory=1.5 is not an integer',
                            memory=1.5)

    def test_cell_id_not_an_integer(self):
        self._cell_rejected('host cell 1.5: id=1.5 is not an integer',
                            id=1.5)

    def test_cell_usage_not_an_integer(self):
        self._cell_rejected('host cell 0: memory_usage=True is not an '
                            'integer', memory_usage=True)
        self._cell_rejected("host cell 0: cpu_usage='2' is not an integer",
                            cpu_usage='2')

    def test_cell_cpuset_a_string(self):
        self._cell_rejected("host cell 0: cpuset='abc' is not a set of CPU "
                            "ids", cpuset='abc')

    def test_cell_sets_of_non_integers(self):
        self._cell_rejected("host cell 0: pcpuset={'0'} is not a set of CPU "
                            "ids", pcpuset={'0'})
        self._cell_rejected('host cell 0: pinned_cpus={None} is not a set '
                            'of CPU ids', pinned_cpus={None})
        self._cell_rejected('host cell 0: pinned_cpus=[0] is not a set of '
                            'CPU ids', pinned_cpus=[0])

    def test_cell_string_siblings(self):
        self._cell_rejected("host cell 0: siblings=['01', '23'] is not a "
                            "list of sets of CPU ids",
                            siblings=['01', '23'])

    def test_cell_siblings_not_sets(self):
        self._cell_rejected('host cell 0: siblings=[0, 1] is not a list of '
                            'sets of CPU ids', siblings=[0, 1])
        self._cell_rejected('host cell 0: siblings=5 is not a list of sets '
                            'of CPU ids', siblings=5)

    def test_cell_mempages_malformed(self):
        self._cell_rejected('host cell 0: mempages=5 is not a list of page '
                            'pools', mempages=5)
        host = fakes.host()
        _tamper(host.numa_topology.cells[0].mempages[0], size_kb=2.5)
        self._rejected(self.numa, host, fakes.spec(hw__numa_nodes='1'),
                       'host cell 0: page pool size_kb=2.5 is not an '
                       'integer')

    def test_cell_socket_and_network_metadata(self):
        self._cell_rejected("host cell 0: socket='s0' is not an integer",
                            socket='s0')
        host = fakes.host()
        _tamper(host.numa_topology.cells[0].network_metadata, physnets=5)
        self._rejected(self.numa, host, fakes.spec(hw__numa_nodes='1'),
                       'host cell 0: network_metadata.physnets=5 is not a '
                       'set of names')

    def test_cells_not_a_list_of_cells(self):
        host = fakes.host()
        _tamper(host.numa_topology, cells=5)
        self._rejected(self.numa, host, fakes.spec(hw__numa_nodes='1'),
                       'host NUMA topology: cells=5 is not a list of cells')
        host = fakes.host()
        _tamper(host.numa_topology, cells=[{'id': 0}])
        self._rejected(self.numa, host, fakes.spec(hw__numa_nodes='1'),
                       'host NUMA topology: cell 0 is a dict, not a '
                       'NUMACell')

    def test_allocation_ratio_not_a_number(self):
        for ratio in (float('nan'), -1.0, 'x'):
            host = fakes.host()
            host.cpu_allocation_ratio = ratio
            self._rejected(self.numa, host, fakes.spec(hw__numa_nodes='1'),
                           f'cpu_allocation_ratio={ratio!r} is not a number '
                           f'>= 0')

    def test_cpu_info_features_an_integer(self):
        host = fakes.host()
        host.cpu_info = json.dumps({'model': 'Haswell', 'features': 5})
        self._rejected(self.vcpu, host, fakes.spec(hw__cpu_model='Haswell'),
                       'cpu_info features are not a list of names: 5')

    def test_cpu_info_deeply_nested(self):
        host = fakes.host()
        host.cpu_info = ('{"model": "Haswell", "topology": ' + '[' * 100000 +
                         ']' * 100000 + '}')
        self._rejected(self.vcpu, host, fakes.spec(hw__cpu_model='Haswell'),
                       'cpu_info is nested too deeply')

    def test_cpu_info_vendor_not_a_string(self):
        host = fakes.host()
        host.cpu_info = json.dumps({'model': 'Haswell', 'vendor': [1]})
        self._rejected(self.vcpu, host, fakes.spec(hw__cpu_model='Haswell'),
                       'cpu_info vendor is not a name: [1]')

    def test_cpu_info_huge_number(self):
        host = fakes.host()
        host.cpu_info = '{"model": "Haswell", "x": 1' + '0' * 5000 + '}'
        reason = self._rejected(self.vcpu, host,
                                fakes.spec(hw__cpu_model='Haswell'),
                                'cpu_info is not JSON')
        self.assertLess(len(reason), 200)

    def test_pci_stats_wrong_type(self):
        host = fakes.host()
        host.pci_stats = {'pools': []}
        self._rejected(self.numa, host, _pci_spec(),
                       'pci_stats is a dict, not a PciDeviceStats')

    def test_allocation_candidate_without_mappings(self):
        host = fakes.host()
        host.pci_stats = fakes.pci_stats(host)
        self.assertTrue(self.numa.host_passes(host, _pci_spec()))
        for candidate in ({}, 'x', {'mappings': 5}):
            host = fakes.host()
            host.pci_stats = fakes.pci_stats(host)
            host.allocation_candidates = [{'mappings': {}}, candidate]
            self._rejected(self.numa, host, _pci_spec(),
                           'allocation candidate 1 has no mappings')

    def test_logged_once_per_host_not_per_request(self):
        bad = fakes.host()
        _tamper(bad.numa_topology.cells[0], memory=1.5)
        good = fakes.host('compute-1')
        filters = [self.pages, self.pinning, self.numa]
        for vcpus in (1, 2, 3):
            spec = fakes.spec(vcpus=vcpus, hw__cpu_policy='dedicated',
                              hw__mem_page_size='small')
            result = self.handler.get_filtered_objects(filters, [bad, good],
                                                       spec)
            self.assertEqual(['compute-1'], [h.host for h in result])
        # The first filter rejects the host: one warning, not one per
        # request; every rejection still has its DEBUG reason line.
        self.assertEqual(1, len(self._warnings()), self._warnings())
        self.assertNotIn('Traceback', self.log.output)
        self.assertEqual(3, self.log.output.count(
            'compute-0 fails StxHugepageFilter: malformed host data: '
            'host cell 0: memory=1.5 is not an integer'))

    def test_logged_once_per_host_across_request_kinds(self):
        # Requests that do not read the host's topology in between do not
        # make the warning come back.
        bad = fakes.host()
        _tamper(bad.numa_topology.cells[0], memory=1.5)
        for spec in (fakes.spec(hw__numa_nodes='1'), fakes.spec(),
                     fakes.spec(hw__numa_nodes='1', vcpus=1)):
            self.numa.host_passes(bad, spec)
        self.assertEqual(1, len(self._warnings()))

    def test_request_without_numa_does_not_read_host_numa_data(self):
        # As upstream: no NUMA request, no judgement of the host's cells.
        bad = fakes.host()
        _tamper(bad.numa_topology.cells[0], cpuset='abc')
        for filt in (self.numa, self.pinning, self.pages):
            self.assertTrue(filt.host_passes(bad, fakes.spec()))
        self.assertEqual([], self._warnings())

    def test_logged_again_when_the_problem_changes(self):
        host = fakes.host()
        spec = fakes.spec(hw__numa_nodes='1')
        _tamper(host.numa_topology.cells[0], memory=1.5)
        self.assertFalse(self.numa.host_passes(host, spec))
        self.assertFalse(self.numa.host_passes(host, spec))
        self.assertEqual(1, len(self._warnings()))
        host.numa_topology = fakes.host().numa_topology
        _tamper(host.numa_topology.cells[0], id='x')
        self.assertFalse(self.numa.host_passes(host, spec))
        self.assertEqual(2, len(self._warnings()))
        # Fixed: passes, and nothing more is logged.
        host.numa_topology = fakes.host().numa_topology
        self.assertTrue(self.numa.host_passes(host, spec))
        self.assertEqual(2, len(self._warnings()))

    def test_malformed_request_logged_once_per_request(self):
        spec = fakes.spec(hw__numa_nodes='1')
        _tamper(spec.numa_topology.cells[0], memory=1.5)
        hosts = [fakes.host(f'compute-{i}') for i in range(5)]
        filt = self.numa
        self.assertEqual([], filt.filter_all(hosts, spec))
        lines = [line for line in self.log.output.splitlines()
                 if 'malformed request' in line and 'WARNING' in line]
        self.assertEqual(1, len(lines), lines)
        self.assertIn('guest cell 0: memory=1.5 is not an integer', lines[0])
        self.assertEqual('malformed request: guest cell 0: memory=1.5 is not '
                         'an integer', filt.reason(hosts[0], spec))
        self.assertNotIn('Traceback', self.log.output)
