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

from unittest import mock

from nova import context as nova_context
from nova import objects
from oslo_utils.fixture import uuidsentinel

from nova_stx.scheduler.filters import vcpu_model_filter
from nova_stx.tests.unit.scheduler import fakes


class StxVCpuModelFilterTestCase(fakes.TestCase):

    def setUp(self):
        super().setUp()
        self.filt = vcpu_model_filter.StxVCpuModelFilter()

    def test_host_passes_no_model(self):
        self.assertTrue(self.filt.host_passes(fakes.host(model='Conroe'),
                                              fakes.spec()))

    def test_host_passes_newer_host(self):
        spec = fakes.spec(hw__cpu_model='Nehalem')
        self.assertTrue(self.filt.host_passes(
            fakes.host(model='Skylake-Server'), spec))

    def test_reason_older_host(self):
        spec = fakes.spec(hw__cpu_model='Skylake-Server')
        self.assertEqual(
            'Host VCPU model Haswell required Skylake-Server (host model '
            'is older)', self.filt.reason(fakes.host(), spec))
        self.assertFalse(self.filt.host_passes(fakes.host(), spec))

    def test_reason_passthrough_without_kvm(self):
        spec = fakes.spec(hw__cpu_model='Passthrough')
        reason = self.filt.reason(fakes.host(features=()), spec)
        self.assertIn("only available on 'kvm' hosts", reason)

    def test_reason_malformed_cpu_info(self):
        host = fakes.host()
        host.cpu_info = '{"vendor": "Intel"'
        reason = self.filt.reason(host, fakes.spec(hw__cpu_model='Haswell'))
        self.assertIn('malformed host data: cpu_info is not JSON', reason)

    def test_reason_missing_cpu_info(self):
        host = fakes.host()
        host.cpu_info = None
        self.assertFalse(self.filt.host_passes(
            host, fakes.spec(hw__cpu_model='Haswell')))

    def test_reason_missing_cpu_info_no_model_requested(self):
        host = fakes.host()
        host.cpu_info = None
        self.assertTrue(self.filt.host_passes(host, fakes.spec()))

    def test_requested_model_image_property_cannot_reach(self):
        # Nova 34 drops hw_cpu_model from RequestSpec.image.
        spec = fakes.spec(image={'hw_cpu_model': 'Skylake-Server'})
        self.assertIsNone(vcpu_model_filter.requested_model(spec))

    def test_requested_model_invalid_flavor_value(self):
        spec = fakes.spec()
        spec.flavor.extra_specs['hw:cpu_model'] = 'Pentium'
        reason = self.filt.reason(fakes.host(), spec)
        self.assertTrue(reason.startswith(
            'hw:cpu_model must be one of: Passthrough'), reason)
        self.assertTrue(reason.endswith("got 'Pentium'."), reason)

    def test_move_source_boot(self):
        self.assertIsNone(vcpu_model_filter.move_source(fakes.spec()))

    def test_move_source_migration(self):
        spec = fakes.spec()
        spec.ignore_hosts = ['src', 'tried']
        self.assertEqual('src', vcpu_model_filter.move_source(spec))

    def _passthrough_move(self, source_cpu_info):
        spec = fakes.spec(hw__cpu_model='Passthrough')
        spec.ignore_hosts = ['src']
        ctxt = nova_context.get_admin_context()
        node = objects.ComputeNode(cpu_info=source_cpu_info)
        mapping = objects.HostMapping(cell_mapping=objects.CellMapping(
            uuid=uuidsentinel.cell1, database_connection='fake://',
            transport_url='fake://'))
        with mock.patch.object(objects.HostMapping, 'get_by_host',
                               return_value=mapping) as get_mapping, \
                mock.patch.object(nova_context, 'get_admin_context',
                                  return_value=ctxt), \
                mock.patch.object(nova_context, 'target_cell') as target, \
                mock.patch.object(objects.ComputeNodeList,
                                  'get_all_by_host',
                                  return_value=[node]):
            target.return_value.__enter__.return_value = ctxt
            reason = self.filt.reason(fakes.host(), spec)
        get_mapping.assert_called_once_with(ctxt, 'src')
        return reason

    def test_reason_passthrough_move_same_cpu(self):
        self.assertIsNone(self._passthrough_move(fakes.cpu_info()))

    def test_reason_passthrough_move_other_cpu(self):
        reason = self._passthrough_move(fakes.cpu_info('Skylake-Server'))
        self.assertEqual('Host VCPU model Haswell required Passthrough '
                         '(source host model Skylake-Server)', reason)

    def test_source_cpu_looked_up_once_per_request(self):
        spec = fakes.spec(hw__cpu_model='Passthrough')
        spec.ignore_hosts = ['src']
        with mock.patch.object(vcpu_model_filter, 'source_cpu',
                               return_value=None) as lookup:
            for name in ('a', 'b', 'c'):
                self.filt.reason(fakes.host(name), spec)
            self.filt.reason(fakes.host('a'), fakes.spec(
                hw__cpu_model='Passthrough'))
        lookup.assert_called_once_with(spec, 'src')

    def test_reason_passthrough_move_unknown_source(self):
        spec = fakes.spec(hw__cpu_model='Passthrough')
        spec.ignore_hosts = ['src']
        reason = self.filt.reason(fakes.host(), spec)
        self.assertIn('migrating from unknown host', reason)

    def test_run_on_rebuild_false(self):
        self.assertFalse(self.filt.RUN_ON_REBUILD)
