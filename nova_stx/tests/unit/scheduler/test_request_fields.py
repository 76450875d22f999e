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

"""RequestSpecs with unset fields, as Nova's own unit tests build them.

Nova objects raise (``ObjectActionError``, ``NotImplementedError``,
``OrphanedObjectError``) when an unset field is read, ``getattr`` with a
default included; an unset field means "not requested".
"""

from nova import objects
from nova.scheduler import filters as nova_filters
from oslo_utils.fixture import uuidsentinel

from nova_stx.scheduler.filters import cpu_pinning_filter
from nova_stx.scheduler.filters import hugepage_filter
from nova_stx.scheduler.filters import numa_topology_filter
from nova_stx.scheduler.filters import vcpu_model_filter
from nova_stx.scheduler import reasons
from nova_stx.scheduler import request_fields
from nova_stx.tests.unit.scheduler import fakes

objects.register_all()


def _numa(vcpus=2, **flavor):
    """An InstanceNUMATopology as Nova builds it from a flavor."""
    return fakes.spec(vcpus=vcpus, ram_mb=1024, hw__numa_nodes='1',
                      **flavor).numa_topology


class FieldTestCase(fakes.TestCase):

    def test_field_set_and_unset(self):
        spec = objects.RequestSpec(num_instances=2)
        self.assertEqual(2, request_fields.field(spec, 'num_instances'))
        self.assertIsNone(request_fields.field(spec, 'instance_uuid'))
        self.assertEqual('x', request_fields.field(spec, 'flavor', 'x'))
        self.assertIsNone(request_fields.field(None, 'flavor'))

    def test_field_of_plain_objects(self):
        host = fakes.host('h1')
        self.assertEqual('h1', request_fields.field(host, 'host'))
        self.assertIsNone(request_fields.field(host, 'no_such_thing'))

    def test_extra_specs(self):
        self.assertEqual({}, request_fields.extra_specs(
            objects.RequestSpec()))
        self.assertEqual({}, request_fields.extra_specs(
            objects.RequestSpec(flavor=objects.Flavor())))
        self.assertEqual({'a': 'b'}, request_fields.extra_specs(
            objects.RequestSpec(flavor=objects.Flavor(extra_specs={
                'a': 'b'}))))

    def test_image_property(self):
        props = objects.ImageMetaProps(hw_cpu_policy='dedicated')
        for spec in (objects.RequestSpec(),
                     objects.RequestSpec(image=objects.ImageMeta()),
                     objects.RequestSpec(image=objects.ImageMeta(
                         properties=objects.ImageMetaProps()))):
            self.assertIsNone(
                request_fields.image_property(spec, 'hw_cpu_policy'))
        spec = objects.RequestSpec(image=objects.ImageMeta(properties=props))
        self.assertEqual('dedicated', request_fields.image_property(
            spec, 'hw_cpu_policy'))
        # Nova 34 has no such field: the property cannot reach us.
        self.assertIsNone(request_fields.image_property(spec, 'hw_bogus'))

    def test_reasons_without_instance_uuid(self):
        spec = objects.RequestSpec()
        reasons.start('F', spec)
        reasons.record('F', fakes.host('h1'), 'why', spec)
        self.assertEqual({'F': [('h1', 'why')]}, reasons.rejections())
        reasons.log_summary(spec, 3)
        self.assertIn('F rejected 1 host(s)', self.log.output)


class PartialRequestSpecTestCase(fakes.TestCase):
    """The four filters through Nova's handler, never raising."""

    def setUp(self):
        super().setUp()
        self.handler = nova_filters.HostFilterHandler()
        self.filters = [vcpu_model_filter.StxVCpuModelFilter(),
                        hugepage_filter.StxHugepageFilter(),
                        cpu_pinning_filter.StxCPUPinningFilter(),
                        numa_topology_filter.StxNUMATopologyFilter()]
        self.hosts = [fakes.host('h-haswell'),
                      fakes.host('h-skylake', model='Skylake-Server')]

    def _passing(self, spec):
        result = self.handler.get_filtered_objects(
            self.filters, self.hosts, spec)
        self.assertNotIn('cannot evaluate', self.log.output)
        self.assertNotIn('Traceback', self.log.output)
        return [h.host for h in result]

    def test_nothing_set_passes_every_host(self):
        self.assertEqual(['h-haswell', 'h-skylake'],
                         self._passing(objects.RequestSpec()))

    def test_flavor_only(self):
        spec = objects.RequestSpec(flavor=objects.Flavor(
            extra_specs={'hw:cpu_model': 'Skylake-Server'}))
        self.assertEqual(['h-skylake'], self._passing(spec))
        self.assertIn('h-haswell fails StxVCpuModelFilter: Host VCPU model '
                      'Haswell required Skylake-Server', self.log.output)

    def test_flavor_without_extra_specs_and_image_without_properties(self):
        spec = objects.RequestSpec(flavor=objects.Flavor(),
                                   image=objects.ImageMeta(),
                                   numa_topology=_numa())
        self.assertEqual(['h-haswell', 'h-skylake'], self._passing(spec))

    def test_as_novas_numa_filter_tests_build_it_without_uuid(self):
        spec = objects.RequestSpec(
            numa_topology=_numa(hw__cpu_policy='dedicated',
                                hw__mem_page_size='small'),
            flavor=objects.Flavor(extra_specs={}),
            image=objects.ImageMeta(properties=objects.ImageMetaProps()))
        self.assertEqual(['h-haswell', 'h-skylake'], self._passing(spec))

    def test_too_big_without_uuid_is_rejected_with_reasons(self):
        spec = objects.RequestSpec(
            numa_topology=_numa(vcpus=16, hw__cpu_policy='dedicated'),
            flavor=objects.Flavor(extra_specs={}))
        # NOTE(nova-stx): Nova's handler itself reads instance_uuid when no
        # host is left, so the filter is run as the handler runs it.
        pinning = self.filters[2]
        self.assertEqual([], pinning.filter_all(self.hosts, spec))
        self.assertNotIn('Traceback', self.log.output)
        self.assertIn('nova-stx filters left no host for instance None: '
                      'StxCPUPinningFilter rejected 2 host(s)',
                      self.log.output)

    def test_request_level_fields_unset(self):
        # No pci_requests, network_metadata, ignore_hosts, instance_uuid.
        spec = objects.RequestSpec(
            numa_topology=_numa(hw__cpu_policy='dedicated'),
            flavor=objects.Flavor(extra_specs={
                'hw:cpu_model': 'Passthrough'}),
            image=objects.ImageMeta(properties=objects.ImageMetaProps()))
        self.assertEqual(['h-haswell', 'h-skylake'], self._passing(spec))

    def test_instance_uuid_still_logged(self):
        spec = objects.RequestSpec(
            instance_uuid=uuidsentinel.instance,
            flavor=objects.Flavor(extra_specs={
                'hw:cpu_model': 'Icelake-Server'}))
        self.assertEqual([], self._passing(spec))
        self.assertIn(f'left no host for instance {uuidsentinel.instance}',
                      self.log.output)
