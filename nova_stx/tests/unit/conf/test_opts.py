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
