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

"""A real ``glance-manage`` loads our metadefs into a real database."""

import io
import json
import os
import sqlite3
import subprocess
import sys

import fixtures
import testtools
from oslotest import base

from nova_stx import keys
from nova_stx import metadefs


class GlanceManageLoadTest(base.BaseTestCase):
    """``db sync`` + ``db load_metadefs`` into a temporary sqlite file."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.db = os.path.join(self.tmp, 'glance.sqlite')
        self.conf = os.path.join(self.tmp, 'glance-manage.conf')
        with open(self.conf, 'w') as f:
            f.write(f'[database]\nconnection = sqlite:///{self.db}\n')
        self._glance_manage('db', 'sync')

    def _glance_manage(self, *args):
        command = [sys.executable, '-m', 'glance.cmd.manage',
                   '--config-file', self.conf] + list(args)
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=300)
        self.addDetail('glance-manage ' + ' '.join(args),
                       testtools.content.text_content(
                           result.stdout + result.stderr))
        self.assertEqual(0, result.returncode, result.stderr[-2000:])
        return result.stdout + result.stderr

    def _rows(self):
        db = sqlite3.connect(self.db)
        self.addCleanup(db.close)
        loaded = {}
        for ns_id, name, display, desc, vis, prot in db.execute(
                'SELECT id, namespace, display_name, description, '
                'visibility, protected FROM metadef_namespaces'):
            associations = [
                {k: v for k, v in (('name', rt), ('prefix', prefix),
                                   ('properties_target', target)) if v}
                for rt, prefix, target in db.execute(
                    'SELECT r.name, a.prefix, a.properties_target '
                    'FROM metadef_namespace_resource_types a JOIN '
                    'metadef_resource_types r ON r.id = a.resource_type_id '
                    'WHERE a.namespace_id = ? ORDER BY r.name', (ns_id,))]
            properties = {
                prop: json.loads(schema) for prop, schema in db.execute(
                    'SELECT name, json_schema FROM metadef_properties '
                    'WHERE namespace_id = ?', (ns_id,))}
            loaded[name] = {
                'namespace': name, 'display_name': display,
                'description': desc, 'visibility': vis,
                'protected': bool(prot),
                'resource_type_associations': associations,
                'properties': properties}
        return loaded

    def test_load_shipped_metadefs(self):
        shipped = metadefs.shipped()
        log = self._glance_manage('db', 'load_metadefs',
                                  '--path', metadefs.DIRECTORY)

        for path in shipped.values():
            self.assertEqual(
                1, log.count(f'File {path} loaded to database.'),
                f'{path} was not loaded exactly once')
        for word in ('ERROR', 'CRITICAL', 'Skipping'):
            self.assertNotIn(word, log)

        loaded = self._rows()
        self.assertEqual(len(shipped), len(loaded))
        for name, path in shipped.items():
            with open(path) as f:
                expected = json.load(f)
            expected['resource_type_associations'].sort(
                key=lambda a: a['name'])
            self.assertEqual(expected, loaded[expected['namespace']], name)

    def test_load_files_written_by_the_cli(self):
        """What ``nova-stx metadefs --write DIR`` writes loads as well."""
        target = os.path.join(self.tmp, 'metadefs')
        from nova_stx.cmd import cli
        self.assertEqual(0, cli.main(['metadefs', '--write', target]))
        log = self._glance_manage('db', 'load_metadefs', '--path', target)
        self.assertEqual(len(metadefs.build()), log.count('loaded to'))
        self.assertEqual(set(d['namespace']
                             for d in metadefs.build().values()),
                         set(self._rows()))


class GlanceMetadefsStatusTest(GlanceManageLoadTest):
    """``nova-stx-status`` reads a real Glance database; the upgrade path
    ``load_metadefs --merge --prefer_new`` brings old metadefs up to date.
    """

    def _status(self):
        from nova_stx.cmd import status
        nova_conf = os.path.join(self.tmp, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[DEFAULT]\n')
        out = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        status.main(['--config-file', nova_conf, '--role', 'api',
                     '--glance-config-file', self.conf,
                     'upgrade', 'check', '--json'])
        checks = {c['check']: c for c in json.loads(out.getvalue())['checks']}
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', sys.__stdout__))
        return checks['Glance metadefs']

    def test_status_before_and_after_load(self):
        result = self._status()
        self.assertEqual(2, result['result'])
        self.assertIn('Glance has no STX::Compute::LiveMigration namespace: '
                      'run "glance-manage db load_metadefs --path '
                      f'{metadefs.DIRECTORY}".', result['details'])
        self._glance_manage('db', 'load_metadefs',
                            '--path', metadefs.DIRECTORY)
        self.assertEqual(0, self._status()['result'])

    def test_merge_prefer_new_upgrades_old_metadefs(self):
        # An older release: one property missing, one with another range.
        old = metadefs.build()
        name = metadefs.file_name(keys.LIVE_MIGRATION)
        props = old[name]['properties']
        dropped = sorted(props)[0]
        del props[dropped]
        changed = sorted(props)[0]
        props[changed]['description'] = 'An older description.'
        target = os.path.join(self.tmp, 'old')
        metadefs.write(target, old)
        self._glance_manage('db', 'load_metadefs', '--path', target)
        result = self._status()
        self.assertEqual(2, result['result'])
        self.assertIn("Glance's STX::Compute::LiveMigration differs from "
                      'what this nova-stx ships (older or edited): run '
                      f'"glance-manage db load_metadefs --path '
                      f'{metadefs.DIRECTORY} --merge --prefer_new".',
                      result['details'])

        self._glance_manage('db', 'load_metadefs', '--path',
                            metadefs.DIRECTORY, '--merge', '--prefer_new')
        self.assertEqual(0, self._status()['result'], self._status())
        loaded = self._rows()['STX::Compute::LiveMigration']['properties']
        self.assertIn(dropped, loaded)
        self.assertNotEqual('An older description.',
                            loaded[changed]['description'])
