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

from nova import objects
from oslotest import base

from nova_stx.scheduler.filters import conversions
from nova_stx.scheduler.numa import model
from nova_stx.tests.unit.scheduler import fakes


class ConversionsTestCase(base.BaseTestCase):

    def test_host_topology_converted_once_per_object(self):
        host = fakes.host()
        first = conversions.host_topology(host)
        self.assertIsInstance(first, model.Host)
        self.assertIs(first, conversions.host_topology(host))
        # Nova replaces the object when the host's usage changes.
        host.numa_topology = objects.NUMATopology.obj_from_primitive(
            host.numa_topology.obj_to_primitive())
        second = conversions.host_topology(host)
        self.assertIsNot(first, second)
        self.assertEqual(first.cells, second.cells)

    def test_host_topology_none(self):
        host = fakes.host()
        host.numa_topology = None
        self.assertIsNone(conversions.host_topology(host))

    def test_request_topology_converted_once_per_request(self):
        spec = fakes.spec(hw__numa_nodes='2')
        first = conversions.request_topology(spec)
        self.assertEqual(2, len(first.cells))
        self.assertIs(first, conversions.request_topology(spec))
        other = conversions.request_topology(fakes.spec(hw__numa_nodes='1'))
        self.assertEqual(1, len(other.cells))

    def test_request_topology_none(self):
        self.assertIsNone(conversions.request_topology(fakes.spec()))
