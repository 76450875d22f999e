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

"""Real Nova HostStates and RequestSpecs from plain numbers, for tests."""

import json
import logging

import fixtures
from nova import objects
from nova.pci import stats
from oslotest import base

from nova_stx.explain import report
from nova_stx.explain import fleet


def host(name='compute-0', cells=None, model='Haswell', vendor='Intel',
         features=('vmx',), **extra):
    """A HostState built from the fleet format.

    :param cells: list of cell mappings; default two cells of 4 pCPUs,
        no SMT, 4 GiB each.
    """
    data = {'name': name,
            'cpu': {'model': model, 'vendor': vendor,
                    'features': list(features)},
            'cells': cells if cells is not None else [
                {'pcpus': '0-3', 'cpus': '4-5', 'memory_mb': 4096},
                {'pcpus': '6-9', 'cpus': '10-11', 'memory_mb': 4096}]}
    data.update(extra)
    return fleet.host_state(data)


def pci_stats(host_state):
    """One type-PCI device (vendor ``v``) on host cell 1 of ``host_state``."""
    pool = objects.PciDevicePool(product_id='p', vendor_id='v', numa_node=1,
                                 count=1, tags={'dev_type': 'type-PCI'})
    return stats.PciDeviceStats(
        host_state.numa_topology,
        stats=objects.PciDevicePoolList(objects=[pool]))


def spec(vcpus=2, ram_mb=1024, image=None, **flavor):
    """A RequestSpec as a boot builds it; ``flavor`` keys use ``__``.

    ``spec(hw__cpu_policy='dedicated')`` sets ``hw:cpu_policy``.
    """
    props = {k.replace('__', ':'): v for k, v in flavor.items()}
    return report.build_request(props, image, vcpus, ram_mb)[0]


def cpu_info(model='Haswell', vendor='Intel', features=('vmx',)):
    return json.dumps({'model': model, 'vendor': vendor,
                       'features': list(features)})


class TestCase(base.BaseTestCase):
    """Captures logs (``self.log``) at DEBUG."""

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
