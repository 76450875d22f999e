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

"""The addresses and daemon configuration of the lab's two hosts.

Pure functions over plain data: what each host listens on, which URIs
reach it, and the text of its ``libvirtd.conf`` and ``qemu.conf``.
"""

import dataclasses
import typing as ty

#: Network namespaces joined by a veth pair: each host has its own IP.
NETNS = 'netns'
#: The machine's loopback: both hosts on 127.0.0.1, distinct ports.
LOOPBACK = 'loopback'

#: libvirtd's TCP port when each host has its own address.
LIBVIRTD_PORT = 16509
#: The subnet of the veth pair in netns mode (host A .1, host B .2).
NETNS_SUBNET = '10.77.0'
#: QEMU's incoming-migration ports: host A's range, then host B's.
MIGRATION_PORTS = ((49152, 49183), (49184, 49215))


@dataclasses.dataclass(frozen=True)
class HostSpec:
    """Where one lab host listens."""

    name: str
    uuid: str
    address: str
    tcp_port: int
    migration_ports: tuple[int, int]
    #: Where QEMU listens for incoming migrations; None: QEMU's default.
    migration_address: ty.Optional[str]

    @property
    def peer_uri(self):
        """URI another host's libvirtd uses for peer-to-peer migration."""
        return f'qemu+tcp://{self.address}:{self.tcp_port}/system'

    @property
    def migrate_uri(self):
        """QEMU's migration data URI for this host as the destination."""
        return f'tcp://{self.address}'


def plan_hosts(mode, uuids, loopback_ports=None):
    """Return the two hosts' :class:`HostSpec`, A first.

    :param mode: :data:`NETNS` or :data:`LOOPBACK`.
    :param uuids: two distinct host UUIDs (libvirt refuses to migrate a
        guest to a host with the source's UUID).
    :param loopback_ports: two free TCP ports, for :data:`LOOPBACK`.
    :returns: a tuple of two :class:`HostSpec`.
    :raises ValueError: on an unknown mode, equal UUIDs or missing ports.
    """
    if len(uuids) != 2 or uuids[0] == uuids[1]:
        raise ValueError(f'the two hosts need distinct UUIDs; got {uuids}')
    if mode == NETNS:
        return tuple(
            HostSpec(name, uuid, f'{NETNS_SUBNET}.{i + 1}', LIBVIRTD_PORT,
                     MIGRATION_PORTS[i], f'{NETNS_SUBNET}.{i + 1}')
            for i, (name, uuid) in enumerate(zip('ab', uuids)))
    if mode == LOOPBACK:
        if not loopback_ports or len(set(loopback_ports)) != 2:
            raise ValueError('loopback mode needs two distinct TCP ports; '
                             f'got {loopback_ports}')
        # NOTE(nova-stx): QEMU rejects a loopback migration_address, so
        # it is left unset and the migration URI names the address.
        return tuple(
            HostSpec(name, uuid, '127.0.0.1', port, MIGRATION_PORTS[i],
                     None)
            for i, (name, uuid, port) in enumerate(
                zip('ab', uuids, loopback_ports)))
    raise ValueError(f"mode must be '{NETNS}' or '{LOOPBACK}'; got {mode!r}")


def libvirtd_conf(spec):
    """Return the text of ``libvirtd.conf`` for one host.

    :param spec: the host's :class:`HostSpec`.
    :returns: the file's text.
    """
    return '\n'.join([
        f'# nova-stx lab host {spec.name}',
        f'host_uuid = "{spec.uuid}"',
        'listen_tls = 0',
        'listen_tcp = 1',
        f'listen_addr = "{spec.address}"',
        f'tcp_port = "{spec.tcp_port}"',
        'auth_tcp = "none"',
        'auth_unix_rw = "none"',
        'auth_unix_ro = "none"',
        'unix_sock_group = "root"',
        'unix_sock_rw_perms = "0770"',
        'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
        'keepalive_interval = 2',
        'keepalive_count = 3',
        '',
    ])


def qemu_conf(spec):
    """Return the text of ``qemu.conf`` for one host.

    QEMU runs as root with no security driver, cgroups or namespaces, so
    two daemons on one machine do not fight over them.

    :param spec: the host's :class:`HostSpec`.
    :returns: the file's text.
    """
    lines = [
        f'# nova-stx lab host {spec.name}',
        'user = "root"',
        'group = "root"',
        'dynamic_ownership = 0',
        'remember_owner = 0',
        'security_driver = "none"',
        'cgroup_controllers = [ ]',
        'namespaces = [ ]',
        'stdio_handler = "file"',
        f'migration_port_min = {spec.migration_ports[0]}',
        f'migration_port_max = {spec.migration_ports[1]}',
        # NOTE(nova-stx): the keepalive of the peer-to-peer connection to
        # the destination: a dead destination daemon is noticed within
        # about 2 x 3 s instead of libvirt's default half minute.
        'keepalive_interval = 2',
        'keepalive_count = 3',
    ]
    if spec.migration_address:
        lines += [f'migration_address = "{spec.migration_address}"',
                  f'migration_host = "{spec.migration_address}"']
    return '\n'.join(lines + [''])
