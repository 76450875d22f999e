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

"""Two libvirtd daemons on this machine, standing in for two hosts.

Each daemon runs under ``unshare --mount --uts`` with libvirt's system
directories bind-mounted from its own directory under a temporary root,
with its own ``host_uuid``. In ``netns`` mode (preferred) each also lives
in its own network namespace, the two joined by a veth pair; in
``loopback`` mode (the fallback when network namespaces are not allowed)
both listen on 127.0.0.1 on different ports. Clients reach a daemon
through its bind-mounted unix socket (:attr:`host.Host.uri`); the
daemons reach each other over TCP for peer-to-peer migration.

:class:`TwoHostLab` is a fixture: its cleanup aborts jobs, destroys and
undefines guests, stops each daemon by its PID and kills left-over QEMU
processes by the PIDs in their pidfiles, even after a failed test. A lab
left behind by a killed process is removed by the next one.
"""

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid

import fixtures
from oslo_log import log as logging

from nova_stx.tests.lab import daemon_config
from nova_stx.tests.lab import host as lab_host
from nova_stx.tests.lab import preflight

LOG = logging.getLogger(__name__)

LAB_PREFIX = 'nova-stx-lab-'
#: Files in a lab's root: the PID of the process that owns the lab, and
#: the network namespaces it created.
OWNER_FILE = 'owner.pid'
NETNS_FILE = 'netns'


def _free_ports(count):
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(('127.0.0.1', 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


class TwoHostLab(fixtures.Fixture):
    """Host A and host B, ready for live migrations from A to B.

    :param mode: ``'netns'``, ``'loopback'`` or ``'auto'`` (netns when
        network namespaces can be created, else loopback).
    :param root: the working directory; a new temporary one by default
        (removed at cleanup).
    """

    def __init__(self, mode='auto', root=None):
        super().__init__()
        self.requested_mode = mode
        self.root = root
        self.mode = None
        self.hosts = ()
        self._namespaces = []
        self._start_errors = []

    @property
    def a(self):
        return self.hosts[0]

    @property
    def b(self):
        return self.hosts[1]

    def _setUp(self):
        reason = preflight.why_not()
        if reason:
            raise lab_host.LabError(reason)
        if self.root is None:
            sweep_stale_labs()
            self.root = tempfile.mkdtemp(prefix=LAB_PREFIX)
            self.addCleanup(shutil.rmtree, self.root, True)
        os.makedirs(self.root, exist_ok=True)
        with open(os.path.join(self.root, OWNER_FILE), 'w') as owner:
            owner.write(str(os.getpid()))
        # NOTE(nova-stx): cleanups run last-in first-out: the teardown
        # needs the sockets and pidfiles under the root, so it comes after.
        self.addCleanup(self._teardown)
        # NOTE(nova-stx): errors are raised and reported by the lab;
        # libvirt's default handler would also print each to stderr.
        lab_host.libvirt_module().registerErrorHandler(
            lambda ctx, err: None, None)
        lab_host.ensure_qemu_user()
        for target in lab_host.SYSTEM_DIRS.values():
            # NOTE(nova-stx): bind-mount targets; they are libvirt's
            # standard directories and are left in place, because removing
            # one would detach another running lab's mounts.
            os.makedirs(target, exist_ok=True)
        uuids = [str(uuid.uuid4()), str(uuid.uuid4())]
        self.mode = self._network(uuids)
        if self.mode == daemon_config.LOOPBACK:
            specs = daemon_config.plan_hosts(self.mode, uuids,
                                             _free_ports(2))
            namespaces = (None, None)
        else:
            specs = daemon_config.plan_hosts(self.mode, uuids)
            namespaces = self._namespaces
        self.hosts = tuple(lab_host.Host(spec, self.root, ns)
                           for spec, ns in zip(specs, namespaces))
        for host in self.hosts:
            host.write_config()
            host.launch()
        # NOTE(nova-stx): each daemon probes QEMU's capabilities on its
        # first use, for seconds under TCG; both do it at the same time.
        waiters = [threading.Thread(target=self._wait_ready, args=(host,))
                   for host in self.hosts]
        for waiter in waiters:
            waiter.start()
        for waiter in waiters:
            waiter.join()
        failures = [str(exc) for exc in self._start_errors]
        if failures:
            raise lab_host.LabError('; '.join(failures))

    def _wait_ready(self, host):
        try:
            host.wait_ready()
        except Exception as exc:
            self._start_errors.append(exc)

    def _network(self, uuids):
        if self.requested_mode == daemon_config.LOOPBACK:
            return daemon_config.LOOPBACK
        token = secrets.token_hex(3)
        try:
            for name in 'ab':
                netns = f'nova-stx-{token}-{name}'
                lab_host.run(['ip', 'netns', 'add', netns], 'creating netns')
                self._namespaces.append(netns)
                with open(os.path.join(self.root, NETNS_FILE), 'a') as f:
                    f.write(netns + '\n')
            ns_a, ns_b = self._namespaces
            lab_host.run(['ip', 'link', 'add', 'lab0', 'netns', ns_a,
                          'type', 'veth', 'peer', 'name', 'lab0', 'netns',
                          ns_b], 'creating veth pair')
            for i, netns in enumerate(self._namespaces):
                address = f'{daemon_config.NETNS_SUBNET}.{i + 1}/24'
                lab_host.run(['ip', '-n', netns, 'addr', 'add', address,
                              'dev', 'lab0'], 'adding address')
                for dev in ('lo', 'lab0'):
                    lab_host.run(['ip', '-n', netns, 'link', 'set', dev,
                                  'up'], 'bringing link up')
        except lab_host.LabError as exc:
            if self.requested_mode == daemon_config.NETNS:
                raise
            LOG.warning('Lab: network namespaces unavailable (%(exc)s); '
                        'using loopback', {'exc': exc})
            self._delete_namespaces()
            return daemon_config.LOOPBACK
        return daemon_config.NETNS

    def _delete_namespaces(self):
        while self._namespaces:
            netns = self._namespaces.pop()
            subprocess.run(['ip', 'netns', 'del', netns],
                           capture_output=True)

    def restart(self, host):
        """Start ``host`` again after a fault killed its daemon."""
        host.kill(signal.SIGKILL)
        host.kill_qemu()
        host.start()

    def _teardown(self):
        for host in self.hosts:
            try:
                host.stop()
            except Exception:
                LOG.exception('Lab host %(name)s: teardown failed',
                              {'name': host.name})
        for pid in _qemu_using(self.root):
            # NOTE(nova-stx): a QEMU whose pidfile went with a killed
            # daemon is still found by the lab path in its command line.
            LOG.warning('Lab: killing left-over QEMU %(pid)s', {'pid': pid})
            os.kill(pid, signal.SIGKILL)
        self._delete_namespaces()


def _qemu_using(root):
    """Return PIDs of QEMU processes whose command line names ``root``."""
    pids = []
    for entry in os.listdir('/proc'):
        if not (entry.isdigit() and
                lab_host.process_alive(int(entry), 'qemu')):
            continue
        try:
            with open(f'/proc/{entry}/cmdline', 'rb') as f:
                cmdline = f.read().decode(errors='replace')
        except OSError:
            continue
        if root in cmdline:
            pids.append(int(entry))
    return pids


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ''


def sweep_stale_labs(tmp_dir=None):
    """Remove labs whose owning process died without its cleanup.

    NOTE(nova-stx): a test run killed by a timeout cannot tear its lab
    down, and its daemons, QEMU processes (one of them a busy guest) and
    namespaces would slow every later run; the next lab removes them.

    :param tmp_dir: where labs are created; the system's temp dir by
        default.
    :returns: the roots removed.
    """
    removed = []
    for root in glob.glob(os.path.join(tmp_dir or tempfile.gettempdir(),
                                       LAB_PREFIX + '*')):
        owner = _read(os.path.join(root, OWNER_FILE)).strip()
        if not owner.isdigit() or os.path.exists(f'/proc/{owner}'):
            continue
        LOG.warning('Lab: removing %(root)s, left by dead process '
                    '%(pid)s', {'root': root, 'pid': owner})
        for pidfile in glob.glob(os.path.join(root, '*', 'run',
                                              'libvirtd.pid')):
            pid = _read(pidfile).strip()
            if pid.isdigit() and lab_host.process_alive(int(pid), 'libvirtd'):
                os.kill(int(pid), signal.SIGKILL)
        for pid in _qemu_using(root):
            os.kill(pid, signal.SIGKILL)
        for netns in _read(os.path.join(root, NETNS_FILE)).split():
            subprocess.run(['ip', 'netns', 'del', netns],
                           capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed
