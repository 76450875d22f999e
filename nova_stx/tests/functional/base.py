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

"""Base classes for tests that run nova-stx inside real Nova services."""

import os
import sys
import warnings

import fixtures
from nova.tests.functional.libvirt import base as libvirt_base
from nova.virt.libvirt import driver as libvirt_driver

from nova_stx import conf as stx_conf

#: What operators put in nova.conf to make our filters available.
AVAILABLE_FILTERS = [
    'nova.scheduler.filters.all_filters',
    'nova_stx.scheduler.filters.all_filters',
]


class ApiPasteFixture(fixtures.Fixture):
    """Point Nova's test config at the api-paste.ini the wheel installs.

    Nova's test config looks for it under site-packages; the nova wheel
    puts it under the environment's prefix.
    """

    def _setUp(self):
        if os.environ.get('OS_WSGI__API_PASTE_CONFIG'):
            return
        path = os.path.join(sys.prefix, 'etc', 'nova', 'api-paste.ini')
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_WSGI__API_PASTE_CONFIG', path))


class StxServersTestBase(libvirt_base.ServersTestBase):
    """Real API, conductor, scheduler and placement; fake-libvirt computes.

    Subclasses set ``STX_FILTERS`` to the nova-stx filters to enable after
    Nova's defaults; ``available_filters`` is set as an operator would.
    """

    STX_FILTERS = []
    microversion = '2.86'

    def setUp(self):
        self.useFixture(ApiPasteFixture())
        stx_conf.register_opts(libvirt_base.CONF)
        self.ADDITIONAL_FILTERS = list(self.ADDITIONAL_FILTERS) + list(
            self.STX_FILTERS)
        super().setUp()
        # NOTE(nova-stx): Nova 34's WarningsFixture turns every SQLAlchemy
        # deprecation raised from nova into an error; SQLAlchemy 2.1
        # deprecates noload(), which Nova still uses.
        warnings.filterwarnings(
            'ignore', message='The noload', module='nova')

    def stub_host_cpus(self, cpus):
        """Give each compute the CPU model and features of ``cpus``.

        :param cpus: hostname -> (libvirt model name, feature names)
        """
        real_cpu_info = libvirt_driver.LibvirtDriver._get_cpu_info

        def cpu_info(driver):
            info = real_cpu_info(driver)
            model, features = cpus[driver._host.get_hostname()]
            info.update(model=model, features=set(features))
            return info

        self.stub_out(
            'nova.virt.libvirt.driver.LibvirtDriver._get_cpu_info',
            cpu_info)

    def glance_image(self, properties, name='stx-image'):
        """Create a Glance image with ``properties``; return its id."""
        return self.glance.create(None, {
            'name': name, 'status': 'active', 'container_format': 'bare',
            'disk_format': 'raw', 'size': 1024, 'min_ram': 0, 'min_disk': 0,
            'properties': properties})['id']

    def _setup_scheduler_service(self):
        if self.STX_FILTERS:
            self.flags(available_filters=AVAILABLE_FILTERS,
                       group='filter_scheduler')
        return super()._setup_scheduler_service()
