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

"""Nova's own loader finds the driver through the alias."""

import sys

from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.virt import driver as virt_driver
from nova.virt import fake

from nova_stx.virt.libvirt import alias
from nova_stx.virt.libvirt import driver


class AliasTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(nova_fixtures.LibvirtFixture())

    def test_load_compute_driver_through_alias(self):
        alias.register()
        self.flags(compute_driver=alias.COMPUTE_DRIVER)
        loaded = virt_driver.load_compute_driver(fake.FakeVirtAPI())
        self.assertIs(driver.LibvirtDriver, type(loaded))

    def test_load_compute_driver_cannot_take_our_dotted_path(self):
        """Why the alias exists: Nova only imports under ``nova.virt``."""
        self.assertRaises(SystemExit, virt_driver.load_compute_driver,
                          fake.FakeVirtAPI(),
                          'nova_stx.virt.libvirt.driver.LibvirtDriver')

    def test_register_is_idempotent(self):
        self.assertIs(alias.register(), alias.register())
        self.assertIs(driver, sys.modules[alias.MODULE])
