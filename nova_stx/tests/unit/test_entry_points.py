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

"""Every entry point nova-stx declares loads from the installed package."""

import importlib.metadata

from stevedore import extension
from oslotest import base


def _declared():
    return importlib.metadata.distribution('nova-stx').entry_points


class EntryPointsTest(base.BaseTestCase):

    def test_expected_groups_declared(self):
        groups = {ep.group for ep in _declared()}
        for group in ('console_scripts', 'nova.api.extra_spec_validators',
                      'oslo.config.opts'):
            self.assertIn(group, groups)

    def test_every_declared_entry_point_loads(self):
        declared = list(_declared())
        self.assertNotEqual([], declared)
        for ep in declared:
            self.assertIsNotNone(ep.load(), f'{ep.group}: {ep.name}')

    def test_stevedore_finds_every_plugin_group(self):
        """Load each group the way its consumer does (stevedore)."""
        by_group = {}
        for ep in _declared():
            if ep.group != 'console_scripts':
                by_group.setdefault(ep.group, set()).add(ep.name)

        def fail(manager, entrypoint, exc):
            raise exc

        for group, names in by_group.items():
            mgr = extension.ExtensionManager(
                group, on_load_failure_callback=fail)
            self.assertTrue(names <= set(mgr.names()), group)
