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

from nova.scheduler import filters as nova_filters
from oslo_config import fixture as config_fixture

from nova_stx import conf as stx_conf
from nova_stx.scheduler.filters import base
from nova_stx.scheduler.filters import cpu_pinning_filter
from nova_stx.scheduler.filters import vcpu_model_filter
from nova_stx.tests.unit.scheduler import fakes


class BrokenFilter(base.ExplainedHostFilter):
    def check(self, host_state, spec_obj):
        raise RuntimeError('boom')


class ExplainedHostFilterTestCase(fakes.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(stx_conf.CONF))
        self.handler = nova_filters.HostFilterHandler()
        self.hosts = [
            fakes.host('h-old', model='Nehalem'),
            fakes.host('h-small', model='Skylake-Server',
                       cells=[{'pcpus': '0-1', 'memory_mb': 4096}]),
            fakes.host('h-amd', model='EPYC', vendor='AMD',
                       features=('svm',)),
        ]
        self.filters = [vcpu_model_filter.StxVCpuModelFilter(),
                        cpu_pinning_filter.StxCPUPinningFilter()]

    def _info_lines(self):
        return [line for line in self.log.output.splitlines()
                if 'nova-stx filters left no host' in line]

    def test_host_passes_never_raises(self):
        filt = BrokenFilter()
        self.assertFalse(filt.host_passes(self.hosts[0], fakes.spec()))
        self.assertEqual('cannot evaluate host: boom',
                         filt.reason(self.hosts[0], fakes.spec()))
        self.assertIn('BrokenFilter cannot evaluate h-old, rejecting it',
                      self.log.output)

    def test_filter_all_passes_through_handler(self):
        spec = fakes.spec(hw__cpu_model='Haswell')
        result = self.handler.get_filtered_objects(
            self.filters, self.hosts, spec)
        self.assertEqual(['h-small'], [h.host for h in result])
        self.assertEqual([], self._info_lines())
        self.assertIn('h-old fails StxVCpuModelFilter: Host VCPU model '
                      'Nehalem required Haswell', self.log.output)

    def test_filter_all_logs_one_summary_when_no_host_left(self):
        self.conf.config(rejection_summary_reasons=1, group='nova_stx')
        spec = fakes.spec(vcpus=5, hw__cpu_model='Nehalem',
                          hw__cpu_policy='dedicated')
        result = self.handler.get_filtered_objects(
            self.filters, self.hosts, spec)
        self.assertEqual([], result)
        lines = self._info_lines()
        self.assertEqual(1, len(lines), lines)
        line = lines[0]
        self.assertIn(spec.instance_uuid, line)
        self.assertIn('StxVCpuModelFilter rejected 1 host(s): 1 x "Host '
                      'VCPU model EPYC required Nehalem (AMD host, Intel '
                      'model)" (e.g. h-amd)', line)
        self.assertIn('StxCPUPinningFilter rejected 2 host(s)', line)
        self.assertIn('1 other reason(s)', line)

    def test_filter_all_new_pass_forgets_old_reasons(self):
        spec = fakes.spec(vcpus=5, hw__cpu_model='Nehalem',
                          hw__cpu_policy='dedicated')
        self.handler.get_filtered_objects(self.filters, self.hosts, spec)
        # The next instance of a multi-create request: same spec again.
        self.handler.get_filtered_objects(self.filters, self.hosts[1:2],
                                          spec, index=1)
        lines = self._info_lines()
        self.assertEqual(2, len(lines))
        self.assertNotIn('h-amd', lines[1])
        self.assertIn('h-small', lines[1])
