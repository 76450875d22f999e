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

"""Our metadefs pass Glance's own checks and match the key registry."""

import glob
import os

import fixtures
from oslotest import base

from nova_stx import keys
from nova_stx import metadefs
from nova_stx.tests.unit.metadefs import glance_checks

BROKEN_DIR = os.path.join(os.path.dirname(__file__), 'broken')


class ShippedMetadefsTest(base.BaseTestCase):

    def test_shipped_files_equal_generated(self):
        generated = metadefs.build()
        shipped = metadefs.shipped()
        self.assertEqual(sorted(generated), sorted(shipped),
                         'Regenerate with: nova-stx metadefs --write '
                         'nova_stx/metadefs')
        for name, path in shipped.items():
            with open(path) as f:
                self.assertEqual(
                    metadefs.dumps(generated[name]), f.read(),
                    f'{name} is stale; regenerate with: nova-stx metadefs '
                    f'--write nova_stx/metadefs')

    def test_glance_accepts_every_shipped_file(self):
        self.assertNotEqual({}, metadefs.shipped())
        for name, path in metadefs.shipped().items():
            self.assertEqual([], glance_checks.problems(path), name)

    def test_every_key_and_source_has_a_property(self):
        offered = {}
        for doc in metadefs.build().values():
            for assoc in doc['resource_type_associations']:
                for prop in doc['properties']:
                    offered.setdefault(assoc['name'], set()).add(
                        assoc['prefix'] + prop)
        resource_type = {keys.Source.FLAVOR: 'OS::Nova::Flavor',
                         keys.Source.IMAGE: 'OS::Glance::Image',
                         keys.Source.INSTANCE: 'OS::Nova::Server'}
        for key in keys.KEYS:
            for source, name in key.names().items():
                self.assertIn(name, offered[resource_type[source]],
                              f'{key.id} has no metadef for its {source}')

    def test_integer_ranges_follow_the_registry(self):
        for doc in metadefs.build().values():
            for prop_id, prop in doc['properties'].items():
                key = next(k for k in keys.KEYS if k.id == prop_id)
                if key.kind is keys.Kind.INTEGER:
                    self.assertEqual('integer', prop['type'])
                    self.assertEqual(
                        0 if key.zero_disables else key.minimum,
                        prop.get('minimum'))
                    self.assertEqual(key.maximum, prop.get('maximum'))
                    key.parse(str(prop['default']))
                elif key.kind is keys.Kind.ENUM:
                    self.assertEqual(list(key.choices), prop['enum'])

    def test_server_properties_target_metadata(self):
        for doc in metadefs.build().values():
            for assoc in doc['resource_type_associations']:
                if assoc['name'] == 'OS::Nova::Server':
                    self.assertEqual('metadata', assoc['properties_target'])

    def test_no_collision_with_glance_upstream(self):
        namespaces, names = glance_checks.upstream_names()
        self.assertGreater(len(namespaces), 20, 'Glance metadefs not found')
        for doc in metadefs.build().values():
            self.assertNotIn(doc['namespace'], namespaces)
            self.assertTrue(doc['namespace'].startswith('STX::'))
            for assoc in doc['resource_type_associations']:
                for prop in doc['properties']:
                    self.assertNotIn(
                        (assoc['name'], assoc['prefix'] + prop), names)

    def test_namespaces_unique(self):
        docs = metadefs.build().values()
        self.assertEqual(len(docs), len({d['namespace'] for d in docs}))


class BrokenMetadefsTest(base.BaseTestCase):
    """The checks catch every kind of broken file we know of."""

    def test_every_broken_fixture_is_caught(self):
        paths = glob.glob(os.path.join(BROKEN_DIR, '*.json'))
        self.assertGreaterEqual(len(paths), 7)
        for path in paths:
            self.assertNotEqual([], glance_checks.problems(path),
                                f'{os.path.basename(path)} was not caught')

    def test_inconsistent_namespace_refused(self):
        odd = keys.Key(
            id='live_migration_timeout', title='t', help='h',
            kind=keys.Kind.INTEGER, namespace=keys.LIVE_MIGRATION,
            flavor='hw:other:live_migration_timeout')
        self.assertRaises(metadefs.InconsistentNamespace, metadefs.build,
                          (keys.LIVE_MIGRATION_TIMEOUT, odd))


class WriteTest(base.BaseTestCase):

    def test_write_round_trips(self):
        target = self.useFixture(fixtures.TempDir()).path
        paths = metadefs.write(target)
        self.assertEqual(len(metadefs.build()), len(paths))
        for path in paths:
            self.assertEqual([], glance_checks.problems(path))
