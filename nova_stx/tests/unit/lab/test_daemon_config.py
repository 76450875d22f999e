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

from oslotest import base

from nova_stx.tests.lab import daemon_config

UUIDS = ('9b0c3b4e-0000-4000-8000-00000000000a',
         '9b0c3b4e-0000-4000-8000-00000000000b')


class PlanHostsTest(base.BaseTestCase):

    def test_plan_hosts_netns_own_address_same_port(self):
        a, b = daemon_config.plan_hosts(daemon_config.NETNS, UUIDS)
        self.assertEqual(('a', '10.77.0.1', 16509),
                         (a.name, a.address, a.tcp_port))
        self.assertEqual(('b', '10.77.0.2', 16509),
                         (b.name, b.address, b.tcp_port))
        self.assertEqual('qemu+tcp://10.77.0.2:16509/system', b.peer_uri)
        self.assertEqual('tcp://10.77.0.2', b.migrate_uri)
        self.assertEqual('10.77.0.2', b.migration_address)

    def test_plan_hosts_loopback_distinct_ports_no_migration_address(self):
        a, b = daemon_config.plan_hosts(daemon_config.LOOPBACK, UUIDS,
                                        (40001, 40002))
        self.assertEqual('qemu+tcp://127.0.0.1:40002/system', b.peer_uri)
        self.assertEqual((None, None), (a.migration_address,
                                        b.migration_address))
        self.assertNotEqual(a.migration_ports, b.migration_ports)

    def test_plan_hosts_same_uuid_rejected(self):
        self.assertRaises(ValueError, daemon_config.plan_hosts,
                          daemon_config.NETNS, (UUIDS[0], UUIDS[0]))

    def test_plan_hosts_loopback_needs_two_ports(self):
        self.assertRaises(ValueError, daemon_config.plan_hosts,
                          daemon_config.LOOPBACK, UUIDS, (40001, 40001))

    def test_plan_hosts_unknown_mode_rejected(self):
        self.assertRaises(ValueError, daemon_config.plan_hosts, 'bridge',
                          UUIDS)


class ConfigTextTest(base.BaseTestCase):

    def test_libvirtd_conf_names_uuid_and_listener(self):
        a, _ = daemon_config.plan_hosts(daemon_config.NETNS, UUIDS)
        text = daemon_config.libvirtd_conf(a)
        self.assertIn(f'host_uuid = "{UUIDS[0]}"\n', text)
        self.assertIn('listen_addr = "10.77.0.1"\n', text)
        self.assertIn('tcp_port = "16509"\n', text)

    def test_qemu_conf_netns_sets_migration_address(self):
        _, b = daemon_config.plan_hosts(daemon_config.NETNS, UUIDS)
        text = daemon_config.qemu_conf(b)
        self.assertIn('migration_address = "10.77.0.2"\n', text)
        self.assertIn('migration_port_min = 49184\n', text)
        self.assertIn('cgroup_controllers = [ ]\n', text)

    def test_qemu_conf_loopback_leaves_migration_address_unset(self):
        a, _ = daemon_config.plan_hosts(daemon_config.LOOPBACK, UUIDS,
                                        (40001, 40002))
        self.assertNotIn('migration_address',
                         daemon_config.qemu_conf(a))
