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
from oslotest import base


from nova_stx.explain import capabilities
from nova_stx.explain import fleet

CAPS = """<capabilities><host>
  <cpu><arch>x86_64</arch><model>Skylake-Server-IBRS</model>
    <vendor>Intel</vendor><feature name='vmx'/><feature name='avx2'/>
  </cpu>
  <topology><cells num='2'>
    <cell id='0'>
      <memory unit='KiB'>4194304</memory>
      <pages unit='KiB' size='4'>786432</pages>
      <pages unit='KiB' size='2048'>512</pages>
      <cpus num='4'>
        <cpu id='0' socket_id='0' core_id='0' siblings='0,2'/>
        <cpu id='1' socket_id='0' core_id='1' siblings='1,3'/>
        <cpu id='2' socket_id='0' core_id='0' siblings='0,2'/>
        <cpu id='3' socket_id='0' core_id='1' siblings='1,3'/>
      </cpus>
    </cell>
    <cell id='1'>
      <memory unit='KiB'>4194304</memory>
      <pages unit='KiB' size='4'>1048576</pages>
      <cpus num='2'>
        <cpu id='4' socket_id='1' core_id='0' siblings='4'/>
        <cpu id='5' socket_id='1' core_id='1' siblings='5'/>
      </cpus>
    </cell>
  </cells></topology>
</host></capabilities>"""


class CapabilitiesTestCase(base.BaseTestCase):

    def test_host_from_capabilities(self):
        host = capabilities.host_from_capabilities(CAPS, 'h1', dedicated='0-3')
        self.assertEqual({'model': 'Skylake-Server-IBRS', 'vendor': 'Intel',
                          'features': ['avx2', 'vmx']}, host['cpu'])
        cell0, cell1 = host['cells']
        self.assertEqual([0, 1, 2, 3], cell0['pcpus'])
        self.assertEqual([[0, 2], [1, 3]], cell0['siblings'])
        self.assertEqual(4096, cell0['memory_mb'])
        self.assertEqual({'2048K': 512}, cell0['hugepages'])
        self.assertEqual([], cell1['pcpus'])
        self.assertEqual([4, 5], cell1['cpus'])

    def test_host_from_capabilities_builds_host_state(self):
        state = fleet.host_state(
            capabilities.host_from_capabilities(CAPS, 'h1'))
        cell = state.numa_topology.cells[0]
        self.assertEqual([(4, 786432), (2048, 512)],
                         [(p.size_kb, p.total) for p in cell.mempages])

    def test_not_xml(self):
        exc = self.assertRaises(capabilities.CapabilitiesError,
                                capabilities.host_from_capabilities,
                                '<capabilities', 'h1')
        self.assertIn('h1: not libvirt capabilities XML', str(exc))

    def test_no_topology(self):
        exc = self.assertRaises(
            capabilities.CapabilitiesError,
            capabilities.host_from_capabilities,
            '<capabilities><host><cpu><arch>x86_64</arch></cpu></host>'
            '</capabilities>', 'h1')
        self.assertIn('has no NUMA topology', str(exc))
