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

"""With no nova-stx key, the driver makes exactly Nova's libvirt calls.

Stock Nova 34 ``LibvirtDriver`` and nova-stx's subclass run the same
scripted migration (fake libvirt, fake clock); every call either makes on
the domain is recorded with the time it was made, and the two records must
be equal. Nova's own ``_live_migration_operation`` and
``_live_migration_monitor`` do the work in both.
"""

import collections
from unittest import mock

import futurist
from nova import conf as nova_conf
from nova import context as nova_context
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.fixtures import libvirt as fakelibvirt
from nova.tests.unit import fake_instance
from nova.virt import driver as virt_driver
from nova.virt import fake
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import guest as libvirt_guest

from nova_stx import conf as stx_conf
from nova_stx import keys
from nova_stx.tests.unit.virt.libvirt import test_driver
from nova_stx.virt.libvirt import driver

UNBOUNDED = fakelibvirt.VIR_DOMAIN_JOB_UNBOUNDED


class RecordingDomain:
    """A fake virDomain proxy recording ``(time, method, args)`` calls."""

    def __init__(self, domain, clock, calls):
        self._domain = domain
        self._clock = clock
        self._calls = calls

    def __getattr__(self, name):
        value = getattr(self._domain, name)
        if not callable(value):
            return value

        def record(*args, **kwargs):
            self._calls.append((self._clock.now - 1000.0, name, args,
                                kwargs))
            return value(*args, **kwargs)
        return record


class NovaParityTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(nova_fixtures.LibvirtFixture())
        # NOTE(nova-stx): the driver registers its options when loaded;
        # these tests set them before loading one.
        stx_conf.register_opts(nova_conf.CONF)
        self.context = nova_context.get_admin_context()
        self.stub_out('nova.objects.Migration.save', lambda *a: None)
        self.stub_out('nova.objects.Instance.save', lambda *a, **k: None)

    def _instance(self, extra_specs=None, metadata=None):
        flavor = objects.Flavor(memory_mb=2048, vcpus=1, root_gb=1,
                                ephemeral_gb=0, swap=0,
                                extra_specs=extra_specs or {})
        return fake_instance.fake_instance_obj(
            self.context, flavor=flavor, system_metadata={},
            metadata=metadata or {},
            expected_attrs=['metadata', 'system_metadata'])

    def _drive(self, cls, instance, polls_until_done=None):
        """Run operation and monitor of ``cls``; return the domain calls."""
        clock = test_driver.FakeTime()
        calls = []
        with mock.patch.object(libvirt_driver, 'time', clock):
            drvr = cls(fake.FakeVirtAPI(), False)
            drvr._migration_clock = clock.monotonic
            drvr._live_migration_flags = (fakelibvirt.VIR_MIGRATE_LIVE |
                                          fakelibvirt.VIR_MIGRATE_PEER2PEER)
            dom = fakelibvirt.Domain(drvr._get_connection(), '<domain/>',
                                     False)
            dom._job_type = UNBOUNDED
            polls = []

            def job_stats(flags=0):
                polls.append(clock.now)
                if polls_until_done and len(polls) >= polls_until_done:
                    dom._job_type = fakelibvirt.VIR_DOMAIN_JOB_COMPLETED
                return {'type': dom._job_type, 'memory_total': 2 << 30,
                        'memory_remaining': 1 << 30}

            def abort():
                dom._job_type = fakelibvirt.VIR_DOMAIN_JOB_CANCELLED

            dom.jobStats = job_stats
            dom.abortJob = abort
            dom.migrateSetMaxDowntime = lambda ms: None
            dom.migrateToURI3 = lambda uri, params, flags: None
            guest = libvirt_guest.Guest(RecordingDomain(dom, clock, calls))
            migration = objects.Migration(context=self.context, id=1,
                                          status='running')
            migrate_data = objects.LibvirtLiveMigrateData(
                migration=migration, block_migration=False,
                serial_listen_addr='127.0.0.1', target_connect_addr=None)
            with mock.patch('nova.virt.libvirt.migration.'
                            'get_updated_guest_xml',
                            return_value='<domain/>'):
                drvr._live_migration_operation(
                    self.context, instance, 'dest', False, migrate_data,
                    guest, [])
            drvr.active_migrations[instance.uuid] = collections.deque()
            drvr._live_migration_monitor(
                self.context, instance, guest, 'dest', mock.Mock(),
                mock.Mock(), False, migrate_data, futurist.Future(), [])
        return calls

    def _assert_parity(self, instance, **kwargs):
        nova = self._drive(libvirt_driver.LibvirtDriver, instance, **kwargs)
        ours = self._drive(driver.LibvirtDriver, instance, **kwargs)
        self.assertEqual(nova, ours)
        return nova

    @staticmethod
    def _named(calls, name):
        return [(t, args) for t, n, args, _ in calls if n == name]

    def test_parity_default_options_until_nova_timeout(self):
        calls = self._assert_parity(self._instance())
        # Nova's 2 GiB ramp: 150 s per step; its timeout: 1600 s.
        downtimes = self._named(calls, 'migrateSetMaxDowntime')
        self.assertEqual((0.5, (50,)), downtimes[0])
        self.assertEqual((150.5, (95,)), downtimes[1])
        self.assertEqual((1500.5, (500,)), downtimes[-1])
        self.assertEqual([1600.5],
                         [t for t, _ in self._named(calls, 'abortJob')])

    def test_parity_no_completion_timeout_keeps_novas_ramp(self):
        self.flags(live_migration_completion_timeout=0,
                   live_migration_downtime_delay=10, group='libvirt')
        calls = self._assert_parity(self._instance(), polls_until_done=500)
        downtimes = self._named(calls, 'migrateSetMaxDowntime')
        self.assertEqual([0.5 + 20 * i for i in range(11)],
                         [t for t, _ in downtimes])
        self.assertEqual([], self._named(calls, 'abortJob'))

    def test_parity_ignored_keys_change_nothing(self):
        self._assert_parity(self._instance(
            {keys.LIVE_MIGRATION_TIMEOUT.flavor: 'soon'},
            {keys.LIVE_MIGRATION_MAX_DOWNTIME.instance: '10'}),
            polls_until_done=50)

    def test_opt_in_controller_differs_from_nova(self):
        # The check can fail: an explicit opt-in changes the calls.
        self.flags(live_migration_controller='starlingx', group='nova_stx')
        instance = self._instance()
        nova = self._drive(libvirt_driver.LibvirtDriver, instance)
        ours = self._drive(driver.LibvirtDriver, instance)
        self.assertNotEqual(nova, ours)
        # StarlingX's ramp: the first step before the transfer starts.
        self.assertEqual((0.0, 'migrateSetMaxDowntime', (50,)), ours[0][:3])

    def test_per_instance_key_is_supervised(self):
        instance = self._instance({keys.LIVE_MIGRATION_TIMEOUT.flavor:
                                   '180'})
        ours = self._drive(driver.LibvirtDriver, instance)
        self.assertEqual([180.5],
                         [t for t, _ in self._named(ours, 'abortJob')])


class DriverApiContractTest(test.NoDBTestCase):
    """Nova's own public-API check, run against the nova-stx driver."""

    def setUp(self):
        super().setUp()
        self.useFixture(nova_fixtures.LibvirtFixture())

    def test_public_api_signatures(self):
        # NOTE(nova-stx): the check of Nova's
        # LibvirtConnTestCase.test_public_api_signatures, Nova's own
        # assertion helper, with nova-stx's driver as the implementation.
        baseinst = virt_driver.ComputeDriver(None)
        inst = driver.LibvirtDriver(fake.FakeVirtAPI(), True)
        self.assertPublicAPISignatures(baseinst, inst)

    def test_check_rejects_an_extra_public_method(self):
        class Extended(driver.LibvirtDriver):
            def migration_plan(self, instance, gib):
                pass

        inst = Extended(fake.FakeVirtAPI(), True)
        self.assertRaises(
            AssertionError, self.assertPublicAPISignatures,
            virt_driver.ComputeDriver(None), inst)
