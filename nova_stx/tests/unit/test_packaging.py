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

"""What ships around the package: licence, hooks, systemd drop-in."""

import configparser
import importlib.metadata
import os

import yaml
from oslotest import base

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..')


def _read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


class PackagingTest(base.BaseTestCase):

    def test_license_is_apache_2(self):
        text = _read('LICENSE')
        self.assertIn('Apache License', text)
        self.assertIn('Version 2.0, January 2004', text)
        self.assertIn('END OF TERMS AND CONDITIONS', text)

    def test_setup_cfg_home_page_is_the_project(self):
        cfg = configparser.ConfigParser()
        cfg.read(os.path.join(ROOT, 'setup.cfg'))
        self.assertTrue(cfg['metadata']['home_page'].endswith('/nova-stx'))

    def test_pre_commit_runs_flake8_metadefs_json_and_reno_lint(self):
        config = yaml.safe_load(_read('.pre-commit-config.yaml'))
        hooks = {hook['id']: hook for repo in config['repos']
                 for hook in repo['hooks']}
        self.assertIn('flake8', hooks)
        self.assertEqual('^nova_stx/metadefs/.*\\.json$',
                         hooks['check-json']['files'])
        self.assertEqual('reno lint', hooks['reno-lint']['entry'])

    def test_systemd_drop_in_runs_nova_compute_stx(self):
        lines = [line for line in _read(
            'etc', 'systemd', 'nova-compute.service.d',
            'nova-stx.conf').splitlines()
            if line and not line.startswith('#')]
        self.assertEqual('[Service]', lines[0])
        exec_start = [line for line in lines if line.startswith(
            'ExecStart=')]
        # An empty ExecStart= first: systemd would otherwise refuse a
        # second command for a simple service.
        self.assertEqual('ExecStart=', exec_start[0])
        command = exec_start[1].split('=', 1)[1].split()
        self.assertEqual('/usr/bin/nova-compute-stx', command[0])
        scripts = {ep.name for ep in importlib.metadata.entry_points(
            group='console_scripts')}
        self.assertIn(os.path.basename(command[0]), scripts)
