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

"""``nova-stx-status upgrade check`` on real nova.conf files."""

import io
import json
import os

import fixtures
from oslotest import base

from nova_stx.cmd import status
from nova_stx import nova_version

DOCS = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..',
                    'doc', 'source', 'install')
README = os.path.join(DOCS, '..', '..', '..', 'README.rst')


def doc_conf(name):
    with open(os.path.join(DOCS, name)) as f:
        return f.read()


SCHEDULER = doc_conf('nova-scheduler.conf')
COMPUTE = doc_conf('nova-compute.conf')
ALL_IN_ONE = SCHEDULER + '\n' + COMPUTE


class StatusTestCase(base.BaseTestCase):

    def check(self, text, *roles, extra=()):
        """Run the check on ``text`` as nova.conf; return (code, checks)."""
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        argv = ['--config-file', path]
        for role in roles:
            argv += ['--role', role]
        argv += list(extra) + ['upgrade', 'check', '--json']
        out, err = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        code = status.main(argv)
        if not out.getvalue():
            return code, err.getvalue()
        checks = {c['check']: (c['result'], c['details'])
                  for c in json.loads(out.getvalue())['checks']}
        return code, checks

    def assertFails(self, text, check, *fragments, roles=(), code=2):
        result, checks = self.check(text, *roles)
        self.assertEqual(code, result, checks)
        self.assertEqual(code, checks[check][0], checks)
        for fragment in fragments:
            self.assertIn(fragment, checks[check][1])
        return checks[check][1]


class DocumentedConfigsTest(StatusTestCase):

    def test_documented_configs_pass(self):
        for text, roles in ((ALL_IN_ONE, ()),
                            (SCHEDULER, ('scheduler', 'api')),
                            (COMPUTE, ('compute',))):
            code, checks = self.check(text, *roles)
            self.assertEqual(0, code, checks)
            self.assertEqual({0}, {r for r, _d in checks.values()}, checks)

    def test_readme_gives_the_checked_configs(self):
        with open(README) as f:
            readme = f.read()
        for text in (SCHEDULER, COMPUTE):
            block = ''.join(f'    {line}\n' for line in text.splitlines())
            self.assertIn(block, readme, 'README.rst and '
                          'doc/source/install/*.conf must agree')

    def test_version_prints_both(self):
        out = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.assertRaises(SystemExit, status.main, ['--version'])
        self.assertEqual(nova_version.versions_text(), out.getvalue().strip())


class BrokenConfigsTest(StatusTestCase):
    """Each broken variant fails (or warns) naming the fix."""

    def test_tenant_bounds_crossed(self):
        self.assertFails(
            ALL_IN_ONE + '[nova_stx]\ntenant_live_migration_timeout_min = '
            '700\ntenant_live_migration_timeout_max = 200\n',
            'nova-stx options',
            'tenant_live_migration_timeout_min (700) is greater than '
            'tenant_live_migration_timeout_max (200): set the minimum at '
            'most the maximum.')

    def test_invalid_option_value(self):
        self.assertFails(
            ALL_IN_ONE + '[nova_stx]\nlive_migration_downtime_ramp = '
            'linear\n', 'nova-stx options', 'live_migration_downtime_ramp')

    def test_both_numa_filters(self):
        self.assertFails(
            SCHEDULER.replace('StxNUMATopologyFilter',
                              'NUMATopologyFilter,StxNUMATopologyFilter'),
            'Scheduler filters', 'Remove NUMATopologyFilter.',
            roles=('scheduler',))

    def test_stx_filters_not_available(self):
        self.assertFails(
            SCHEDULER.replace(
                'available_filters = nova_stx.scheduler.filters.all_filters'
                '\n', ''),
            'Scheduler filters',
            'names StxVCpuModelFilter, StxHugepageFilter, '
            'StxCPUPinningFilter, StxNUMATopologyFilter, which no '
            'available_filters entry provides', 'add "available_filters = '
            'nova_stx.scheduler.filters.all_filters"', roles=('scheduler',))

    def test_misspelt_filter(self):
        self.assertFails(
            SCHEDULER.replace('StxNUMATopologyFilter',
                              'StxNUMATopolgyFilter'),
            'Scheduler filters', 'did you mean StxNUMATopologyFilter?',
            roles=('scheduler',))

    def test_unloadable_available_filters_entry(self):
        self.assertFails(
            SCHEDULER.replace('nova_stx.scheduler.filters.all_filters',
                              'nova_stx.scheduler.filterz.all_filters'),
            'Scheduler filters', "entry 'nova_stx.scheduler.filterz."
            "all_filters' cannot be loaded", roles=('scheduler',))

    def test_pci_alias_without_pci_filter(self):
        self.assertFails(
            SCHEDULER.replace('PciPassthroughFilter,', '') +
            '[pci]\nalias = {"name": "a1", "vendor_id": "8086", '
            '"product_id": "154d", "device_type": "type-PF"}\n',
            'Scheduler filters', 'Keep PciPassthroughFilter',
            roles=('scheduler',))

    def test_no_stx_filter_is_a_warning(self):
        self.assertFails(
            '[filter_scheduler]\nenabled_filters = ComputeFilter,'
            'NUMATopologyFilter\n', 'Scheduler filters',
            'Replace NUMATopologyFilter by StxVCpuModelFilter',
            roles=('scheduler',), code=1)

    def test_prechecks_without_numa_filter_is_a_warning(self):
        self.assertFails(
            SCHEDULER.replace(',StxNUMATopologyFilter', ''),
            'Scheduler filters', 'Add StxNUMATopologyFilter after them.',
            roles=('scheduler',), code=1)

    def test_nova_driver_on_compute_is_a_warning(self):
        self.assertFails(
            '[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n',
            'Compute driver', 'start nova-compute-stx instead of '
            'nova-compute', roles=('compute',), code=1)

    def test_our_driver_without_nova_compute_stx(self):
        self.useFixture(fixtures.MockPatch(
            'shutil.which', return_value=None))
        self.assertFails(COMPUTE, 'Compute driver',
                         'nova-compute-stx, which is not on PATH',
                         roles=('compute',))

    def test_untested_nova(self):
        self.useFixture(fixtures.MockPatch(
            'nova_stx.nova_version.installed', return_value='35.1.0'))
        self.assertFails(ALL_IN_ONE, 'Nova version',
                         'Nova 35.1.0 is not a release nova-stx is tested '
                         'with', code=1)

    def test_unreadable_nova_conf_is_one_line(self):
        for text in ('[DEFAULT\ncompute_driver = x\n', 'no section\n'):
            code, err = self.check(text)
            self.assertEqual(2, code)
            self.assertEqual(1, len(err.splitlines()), err)
            self.assertIn('nova-stx-status: error: ', err)

    def test_config_file_is_a_directory(self):
        err = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        code = status.main(['--config-file',
                            self.useFixture(fixtures.TempDir()).path,
                            'upgrade', 'check'])
        self.assertEqual(2, code)
        self.assertEqual(1, len(err.getvalue().splitlines()), err.getvalue())

    def test_unknown_role(self):
        code, err = self.check(ALL_IN_ONE, 'schedular')
        self.assertEqual(2, code)
        self.assertIn("argument --role: Invalid", err)
        self.assertIn("['schedular']", err)
