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

"""The [nova_stx] options: typed, ranged, documented, generated."""

import fixtures
from oslo_config import cfg
from oslo_config import fixture as config_fixture
from oslo_config import generator
from oslotest import base

from nova_stx import conf


class OptsTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(cfg.ConfigOpts()))
        conf.register_opts(self.conf.conf)

    def test_every_option_in_our_group_with_help(self):
        opts = conf.list_opts()
        self.assertNotEqual([], opts)
        for group, group_opts in opts:
            self.assertEqual('nova_stx', getattr(group, 'name', group))
            for opt in group_opts:
                self.assertGreater(len(opt.help.strip()), 20, opt.name)

    def test_register_is_idempotent(self):
        conf.register_opts(self.conf.conf)
        self.assertEqual('starlingx',
                         self.conf.conf.nova_stx.live_migration_downtime_ramp)

    def test_ranges_enforced(self):
        self.assertRaises(ValueError, self.conf.config,
                          rejection_summary_reasons=0, group='nova_stx')
        self.assertRaises(ValueError, self.conf.config,
                          live_migration_downtime_ramp='linear',
                          group='nova_stx')

    def test_generator_renders_sample(self):
        """oslo-config-generator finds us through the entry point."""
        path = self.useFixture(fixtures.TempDir()).path + '/sample.conf'
        gen_conf = cfg.ConfigOpts()
        generator.register_cli_opts(gen_conf)
        gen_conf(['--namespace', 'nova_stx', '--output-file', path])
        generator.generate(gen_conf)
        with open(path) as f:
            sample = f.read()
        self.assertIn('[nova_stx]', sample)
        for _, opts in conf.list_opts():
            for opt in opts:
                self.assertIn(f'#{opt.name} = ', sample)
        self.assertIn('# Minimum value: 1', sample)


class LoadTest(base.BaseTestCase):
    """Services register and check the options when they load a piece."""

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(cfg.ConfigOpts()))
        conf.register_opts(self.conf.conf)

    def test_nothing_registered_at_import(self):
        import subprocess
        import sys
        result = subprocess.run([sys.executable, '-c', (
            'from oslo_config import cfg\n'
            'import nova_stx.conf, nova_stx.scheduler.filters.base\n'
            'import nova_stx.virt.libvirt.driver\n'
            'print("nova_stx" in cfg.CONF)\n'
            'nova_stx.conf.load()\n'
            'print("nova_stx" in cfg.CONF)')],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(['False', 'True'], result.stdout.split(),
                         result.stderr[-2000:])

    def test_crossed_tenant_bounds_refused(self):
        self.conf.config(tenant_live_migration_timeout_min=700,
                         tenant_live_migration_timeout_max=200,
                         group='nova_stx')
        exc = self.assertRaises(conf.InconsistentConfig, conf.load,
                                self.conf.conf)
        self.assertIn('tenant_live_migration_timeout_min (700) is greater '
                      'than tenant_live_migration_timeout_max (200)',
                      str(exc))

    def test_filters_and_driver_refuse_to_load(self):
        from nova_stx.scheduler.filters import numa_topology_filter
        conf.register_opts(conf.CONF)
        self.useFixture(config_fixture.Config(conf.CONF)).config(
            tenant_live_migration_timeout_min=700,
            tenant_live_migration_timeout_max=200, group='nova_stx')
        self.assertRaises(conf.InconsistentConfig,
                          numa_topology_filter.StxNUMATopologyFilter)
        from nova_stx.virt.libvirt import driver
        # NOTE(nova-stx): the check comes before Nova's own __init__, so
        # no libvirt is needed to see the driver refuse.
        self.assertRaises(conf.InconsistentConfig, driver.LibvirtDriver,
                          virtapi=None)

    def test_untested_nova_warns_once(self):
        self.useFixture(fixtures.MockPatch(
            'nova_stx.nova_version.installed', return_value='36.0.0'))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_stx.conf._version_warned', []))
        logs = self.useFixture(fixtures.FakeLogger(name='nova_stx.conf'))
        conf.load(self.conf.conf)
        conf.load(self.conf.conf)
        self.assertEqual(1, logs.output.count(
            'Nova 36.0.0 is not a release nova-stx is tested with'))
