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

import io

from oslotest import base


from nova_stx.explain import report
from nova_stx.explain import fleet


class ExplainTestCase(base.BaseTestCase):

    def _states(self):
        return [fleet.host_state(h) for h in fleet.sample()]

    def test_filter_classes_in_order(self):
        self.assertEqual(list(report.FILTER_ORDER),
                         [c.__name__ for c in report.filter_classes()])

    def test_run_on_sample(self):
        spec, notes = report.build_request(
            {'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '2',
             'hw:mem_page_size': '2MB', 'hw:cpu_model': 'Haswell-IBRS'},
            None, 4, 4096)
        result = report.run(self._states(), spec, notes=notes)
        self.assertEqual(['compute-0', 'compute-4'], result.fitting)
        by_host = {r.host: dict(r.verdicts) for r in result.hosts}
        self.assertEqual(
            'Host VCPU model Haswell-noTSX required Haswell-IBRS (host '
            'model is older)', by_host['compute-1']['StxVCpuModelFilter'])
        self.assertEqual('guest has 2 NUMA nodes, host has 1',
                         by_host['compute-3']['StxNUMATopologyFilter'])

    def test_build_request_image_property_dropped(self):
        _spec, notes = report.build_request(
            None, {'hw_cpu_model': 'Haswell', 'hw_numa_nodes': '1'})
        self.assertEqual(1, len(notes))
        self.assertIn('hw_cpu_model', notes[0])
        self.assertNotIn('hw_numa_nodes', notes[0])

    def test_build_request_nova_error(self):
        exc = self.assertRaises(report.RequestError, report.build_request,
                                {'hw:numa_nodes': '3'}, None, 2, 1024)
        self.assertIn('cannot be evenly distributed across instance NUMA '
                      'nodes', str(exc))

    def test_build_request_our_key_error(self):
        exc = self.assertRaises(report.RequestError, report.build_request,
                                {'hw:cpu_model': 'Pentium'})
        self.assertIn("hw:cpu_model must be one of", str(exc))

    def test_format_table(self):
        spec, _notes = report.build_request({'hw:cpu_model': 'EPYC'})
        text = report.format_table(report.run(self._states(), spec))
        lines = text.splitlines()
        self.assertEqual(['HOST', 'VCpuModel', 'Hugepage', 'CPUPinning',
                          'NUMATopology', 'RESULT'], lines[0].split())
        self.assertEqual(['compute-3', 'pass', 'pass', 'pass', 'pass',
                          'fits'], lines[4].split())
        self.assertIn('Hosts that fit: compute-3', text)

    def test_as_dict(self):
        spec, _notes = report.build_request({'hw:cpu_model': 'EPYC'})
        data = report.run(self._states(), spec).as_dict()
        self.assertEqual(['compute-3'], data['fitting_hosts'])
        self.assertEqual({'passed': True, 'reason': None},
                         data['hosts'][3]['filters']['StxVCpuModelFilter'])

    def test_demo_explains_a_rejection(self):
        out = io.StringIO()
        report.demo(out)
        text = out.getvalue()
        self.assertIn('Hosts that fit: compute-0, compute-4', text)
        self.assertIn('Hosts that fit: none (NoValidHost)', text)
        self.assertIn('compute-3: StxVCpuModelFilter: Host VCPU model '
                      'EPYC-Rome required Haswell-IBRS', text)
