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

"""``[nova_stx] exact_numa_fit``: off touches nothing, on fails loudly."""

import os
import subprocess
import sys
import textwrap
import types
from unittest import mock

import fixtures
from nova.compute import claims
from nova import context
from nova import exception
from nova.pci import stats as pci_stats
from nova.scheduler import host_manager
from nova.virt import hardware
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_utils.fixture import uuidsentinel as uuids
from oslotest import base

from nova_stx import conf as stx_conf
from nova_stx import exact_numa
from nova_stx.scheduler import filters
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import nova_fit
from nova_stx.tests.unit.scheduler.numa import nova_objects as no

#: Nova's own functions, as imported before any test could replace them.
NOVA_FIT = hardware.numa_fit_instance_to_host
NOVA_CLAIM_TEST = claims.Claim._test_numa_topology


class _Installed(fixtures.Fixture):
    """Leave Nova as found, whatever the test installed."""

    def _setUp(self):
        self.addCleanup(exact_numa.uninstall)


class ExactNumaTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        stx_conf.register_opts(stx_conf.CONF)
        self.conf = self.useFixture(config_fixture.Config(stx_conf.CONF))
        self.useFixture(_Installed())

    def test_off_by_default_and_nova_untouched(self):
        self.assertFalse(stx_conf.CONF.nova_stx.exact_numa_fit)
        self.assertFalse(exact_numa.configure())
        filters.all_filters()
        self.assertIs(NOVA_FIT, hardware.numa_fit_instance_to_host)
        self.assertIs(NOVA_CLAIM_TEST, claims.Claim._test_numa_topology)

    def test_off_scheduler_accounting_calls_upstream(self):
        """With the option off HostState consumes through Nova's function."""
        filters.all_filters()
        spy = self.useFixture(fixtures.MockPatchObject(
            hardware, 'numa_fit_instance_to_host', wraps=NOVA_FIT)).mock
        mine = self.useFixture(fixtures.MockPatchObject(
            nova_fit, 'fit_instance')).mock
        state = host_manager.HostState('h', 'h', None)
        state.numa_topology = no.host(no.host_cell(0, 4))
        spec = no.objects.RequestSpec(
            flavor=no.flavor(1, 512, **{'hw:numa_nodes': '1'}),
            numa_topology=no.constraints(1, 512, {'hw:numa_nodes': '1'}),
            pci_requests=None)
        state.consume_from_request(spec)
        self.assertEqual(1, spy.call_count)
        mine.assert_not_called()

    def test_on_installs_and_uninstalls(self):
        self.conf.config(exact_numa_fit=True, group='nova_stx')
        filters.all_filters()
        self.assertIs(nova_fit.numa_fit_instance_to_host,
                      hardware.numa_fit_instance_to_host)
        self.assertIsNot(NOVA_CLAIM_TEST, claims.Claim._test_numa_topology)
        exact_numa.configure()   # idempotent
        exact_numa.uninstall()
        self.assertIs(NOVA_FIT, hardware.numa_fit_instance_to_host)
        self.assertIs(NOVA_CLAIM_TEST, claims.Claim._test_numa_topology)

    def test_check_nova_passes_on_this_nova(self):
        self.assertEqual([], exact_numa.check_nova())
        self.conf.config(exact_numa_fit=True, group='nova_stx')
        exact_numa.configure()
        self.assertEqual([], exact_numa.check_nova())

    def _changed(self, **replace):
        """Replace ``module.attr`` (names as in ``exact_numa.EXPECTED``)."""
        modules = exact_numa._modules()
        for dotted, value in replace.items():
            module, *path = dotted.split('.')
            holder = modules[module]
            for name in path[:-1]:
                holder = getattr(holder, name)
            self.useFixture(fixtures.MockPatchObject(holder, path[-1], value))

    def test_signature_drift_fails_at_start(self):
        def changed(host_topology, instance_topology, limits=None):
            return None

        self._changed(**{'hardware.numa_fit_instance_to_host': changed})
        self.conf.config(exact_numa_fit=True, group='nova_stx')
        exc = self.assertRaises(exact_numa.NovaChanged, filters.all_filters)
        self.assertIn('hardware.numa_fit_instance_to_host', str(exc))
        self.assertFalse(exact_numa.installed())

    def test_drift_of_cell_fit_or_pci_fails(self):
        self._changed(**{
            'hardware._numa_fit_instance_cell': lambda host_cell, cell: None,
            'stats.PciDeviceStats.apply_requests': lambda self, r: None})
        exc = self.assertRaises(exact_numa.NovaChanged, exact_numa.install)
        self.assertIn('_numa_fit_instance_cell', str(exc))
        self.assertIn('apply_requests', str(exc))

    def test_caller_that_stops_calling_is_drift(self):
        def consume(self, spec_obj):
            return None

        self._changed(**{
            'host_manager.HostState._locked_consume_from_request': consume})
        exc = self.assertRaises(exact_numa.NovaChanged, exact_numa.install)
        self.assertIn('_locked_consume_from_request no longer calls', str(exc))

    def test_off_ignores_drift(self):
        self._changed(**{'hardware.numa_fit_instance_to_host': lambda: None})
        self.assertFalse(exact_numa.configure())

    def test_claim_text_carries_the_reason(self):
        self.conf.config(exact_numa_fit=True, group='nova_stx')
        exact_numa.configure()
        original = exact_numa._installed['claims.Claim._test_numa_topology']

        def nova_test(claim, compute_node, limit):
            nova_fit._local.reason = 'guest cell 0 fits no host cell: x'
            return 'Requested instance NUMA topology cannot fit'

        exact_numa._installed['claims.Claim._test_numa_topology'] = nova_test
        self.addCleanup(exact_numa._installed.__setitem__,
                        'claims.Claim._test_numa_topology', original)
        wrapped = exact_numa._wrap_claim_test(nova_test)
        self.assertEqual('Requested instance NUMA topology cannot fit: '
                         'guest cell 0 fits no host cell: x',
                         wrapped(None, None, None))
        self.assertIsNone(exact_numa._wrap_claim_test(
            lambda *a: None)(None, None, None))

    def _claim(self):
        host = no.host(no.host_cell(0, 4), no.host_cell(1, 4))
        request = no.constraints(20, 2048, {'hw:cpu_policy': 'dedicated',
                                            'hw:numa_nodes': '2'})
        tracker = mock.Mock()
        tracker.pci_tracker.stats = pci_stats.PciDeviceStats(host)
        exc = self.assertRaises(
            exception.ComputeResourcesUnavailable, claims.Claim,
            context.get_admin_context(),
            no.objects.Instance(numa_topology=request, uuid=uuids.instance),
            'node', tracker, no.objects.ComputeNode(
                numa_topology=host._to_json()),
            no.objects.InstancePCIRequests(requests=[]),
            limits={'numa_topology': no.limits()})
        reason = fit.fit_host(from_nova.host_from_nova(host),
                              from_nova.request_from_nova(request),
                              from_nova.limits_from_nova(no.limits())).reason
        return str(exc), reason

    def test_failed_claim_gives_the_filters_reason(self):
        self.conf.config(exact_numa_fit=True, group='nova_stx')
        exact_numa.configure()
        text, reason = self._claim()
        self.assertEqual('Insufficient compute resources: Requested instance '
                         'NUMA topology cannot fit the given host NUMA '
                         'topology: %s.' % reason, text)

    def test_failed_claim_off_is_nova_text(self):
        text, reason = self._claim()
        self.assertEqual('Insufficient compute resources: Requested instance '
                         'NUMA topology cannot fit the given host NUMA '
                         'topology.', text)

    def test_configure_after_parse(self):
        config = types.SimpleNamespace(parse_args=lambda argv: 'parsed')
        conf = cfg.ConfigOpts()
        stx_conf.register_opts(conf)
        conf([])
        conf.set_override('exact_numa_fit', True, group='nova_stx')
        exact_numa.configure_after_parse(config, conf)
        self.assertFalse(exact_numa.installed())
        self.assertEqual('parsed', config.parse_args(['nova-compute']))
        self.assertTrue(exact_numa.installed())


# NOTE(nova-stx): a fresh interpreter, as in cmd/test_compute.py: Nova's
# compute command switches the process to native threading.
SCRIPT = textwrap.dedent('''
    import sys
    import nova.cmd.compute
    from nova import config
    from nova.virt import hardware
    from nova_stx.cmd import compute

    def fake_nova_main():
        config.parse_args(['nova-compute', '--config-file', sys.argv[1]],
                          configure_db=False, init_rpc=False)
        print(hardware.numa_fit_instance_to_host.__module__)
        return 0

    nova.cmd.compute.main = fake_nova_main
    sys.exit(compute.main())
''')


class ComputeHookTestCase(base.BaseTestCase):

    def _run(self, conf_text):
        path = self.useFixture(fixtures.TempDir()).path
        conf = os.path.join(path, 'nova.conf')
        with open(conf, 'w') as f:
            f.write(conf_text)
        result = subprocess.run(
            [sys.executable, '-c', SCRIPT, conf], capture_output=True,
            text=True, env={'OS_NOVA_DISABLE_EVENTLET_PATCHING': '1',
                            'PATH': '/usr/bin:/bin'}, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout.strip()

    def test_nova_compute_stx_installs_when_set(self):
        self.assertEqual('nova_stx.scheduler.numa.nova_fit',
                         self._run('[nova_stx]\nexact_numa_fit = true\n'))

    def test_nova_compute_stx_leaves_nova_alone_by_default(self):
        self.assertEqual('nova.virt.hardware', self._run('[DEFAULT]\n'))
