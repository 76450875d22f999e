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

from importlib import metadata

from nova.scheduler import filters as nova_filters
from oslotest import base

from nova_stx.scheduler import filters


class AllFiltersTestCase(base.BaseTestCase):

    def test_every_entry_point_loads(self):
        declared = metadata.entry_points(group=filters.NAMESPACE)
        self.assertEqual(
            {'StxNUMATopologyFilter', 'StxHugepageFilter',
             'StxCPUPinningFilter', 'StxVCpuModelFilter'},
            {ep.name for ep in declared})
        for ep in declared:
            cls = ep.load()
            self.assertEqual(ep.name, cls.__name__,
                             'operators enable filters by class name; the '
                             'entry point must carry the same name')
            self.assertTrue(issubclass(cls, nova_filters.BaseHostFilter))

    def test_all_filters_returns_every_entry_point(self):
        self.assertEqual(
            sorted(ep.name for ep in metadata.entry_points(
                group=filters.NAMESPACE)),
            [cls.__name__ for cls in filters.all_filters()])

    def test_all_filters_names_do_not_collide_with_nova(self):
        nova_names = {cls.__name__ for cls in nova_filters.all_filters()}
        self.assertIn('NUMATopologyFilter', nova_names)
        ours = {cls.__name__ for cls in filters.all_filters()}
        self.assertEqual(set(), ours & nova_names,
                         'Nova picks filters by bare class name: a nova-stx '
                         'filter named like a Nova one shadows it')

    def test_all_filters_loads_through_nova_loader(self):
        handler = nova_filters.HostFilterHandler()
        classes = handler.get_matching_classes(
            ['nova.scheduler.filters.all_filters',
             'nova_stx.scheduler.filters.all_filters'])
        names = [cls.__name__ for cls in classes]
        self.assertIn('StxNUMATopologyFilter', names)
        self.assertIn('NUMATopologyFilter', names)
