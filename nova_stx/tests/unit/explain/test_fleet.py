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

import json

from oslotest import base

from nova_stx.explain import fleet


def _host(**cell):
    props = {'pcpus': '0-3', 'memory_mb': 4096}
    props.update(cell)
    return {'name': 'h', 'cells': [props]}


class FleetTestCase(base.BaseTestCase):

    def test_host_state_cells(self):
        state = fleet.host_state(_host(
            cpus='4-5', threads=2, pinned='1', memory_used_mb=512,
            hugepages={'2M': {'total': 512, 'used': 10}, '1G': 1}))
        cell = state.numa_topology.cells[0]
        self.assertEqual({0, 1, 2, 3}, cell.pcpuset)
        self.assertEqual({4, 5}, cell.cpuset)
        self.assertEqual({1}, cell.pinned_cpus)
        self.assertEqual([{0, 1}, {2, 3}, {4, 5}], cell.siblings)
        self.assertEqual(512, cell.memory_usage)
        # 4096 MiB - 1024 MiB of 2 MiB pages - 1024 MiB of 1 GiB pages.
        self.assertEqual([(4, 524288, 0), (2048, 512, 10), (1048576, 1, 0)],
                         [(p.size_kb, p.total, p.used)
                          for p in cell.mempages])
        self.assertEqual([{'mappings': {}}], state.allocation_candidates)
        self.assertEqual(16.0, state.cpu_allocation_ratio)

    def test_host_state_cpu_info(self):
        data = _host()
        data['cpu'] = {'model': 'EPYC', 'vendor': 'AMD',
                       'features': ['svm', 'avx2']}
        info = json.loads(fleet.host_state(data).cpu_info)
        self.assertEqual({'model': 'EPYC', 'vendor': 'AMD',
                          'features': ['avx2', 'svm']}, info)

    def test_host_state_explicit_siblings(self):
        state = fleet.host_state(_host(siblings=['0,2', [1, 3]]))
        self.assertEqual([{0, 2}, {1, 3}],
                         state.numa_topology.cells[0].siblings)

    def test_page_size_kb(self):
        self.assertEqual(2048, fleet.page_size_kb('2M', 'x'))
        self.assertEqual(1048576, fleet.page_size_kb('1GiB', 'x'))
        self.assertEqual(2048, fleet.page_size_kb(2048, 'x'))

    def test_page_size_kb_huge_is_a_fleet_error(self):
        # Was a bare ValueError from int() past 4,300 digits.
        for value in ('9' * 5000, 10 ** 5000, '9' * 13 + 'K'):
            self.assertRaisesRegex(fleet.FleetError, 'is not a size',
                                   fleet.page_size_kb, value, 'h1')

    def _error(self, data):
        return str(self.assertRaises(fleet.FleetError, fleet.host_state,
                                     data))

    def test_error_bad_page_size(self):
        self.assertIn("host h cell 0: page size '3X' is not a size",
                      self._error(_host(hugepages={'3X': 1})))

    def test_error_hugepages_exceed_memory(self):
        self.assertIn('hugepages (2048 MiB) exceed memory_mb (1024)',
                      self._error(_host(memory_mb=1024,
                                        hugepages={'1G': 2})))

    def test_error_pinned_outside_pcpus(self):
        self.assertIn('pinned [7] are not in pcpus',
                      self._error(_host(pinned='7')))

    def test_error_bad_cpuset(self):
        self.assertIn("host h cell 0: pcpus 'x-y'",
                      self._error(_host(pcpus='x-y')))

    def test_error_negative_count(self):
        self.assertIn('memory_mb must be a whole number >= 0, got -1',
                      self._error(_host(memory_mb=-1)))

    def test_error_overlapping_siblings(self):
        self.assertIn('siblings must cover the CPUs',
                      self._error(_host(siblings=['0-2', '2-3'])))

    def test_error_no_name(self):
        self.assertIn('every host needs a name',
                      self._error({'cells': []}))

    def test_error_bad_ratio(self):
        data = _host()
        data['cpu_allocation_ratio'] = 0
        self.assertIn('cpu_allocation_ratio must be a number > 0',
                      self._error(data))

    def test_parse_json_and_yaml(self):
        self.assertEqual([{'name': 'a'}],
                         fleet.parse('{"hosts": [{"name": "a"}]}', 'f'))
        self.assertEqual([{'name': 'a'}],
                         fleet.parse('hosts:\n  - name: a\n', 'f'))

    def test_parse_errors(self):
        for text in ('hosts: [', '[]', 'hosts: []'):
            self.assertRaises(fleet.FleetError, fleet.parse, text, 'f')

    def test_sample_builds(self):
        states = [fleet.host_state(h) for h in fleet.sample()]
        self.assertEqual(5, len(states))
