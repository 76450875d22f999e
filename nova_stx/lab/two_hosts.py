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
through its bind-mounted unix socket (:attr:`Host.uri`); the daemons
reach each other over TCP for peer-to-peer migration.

:class:`TwoHostLab` is a fixture: its cleanup aborts jobs, destroys and
undefines guests, stops each daemon by its PID and kills left-over QEMU
processes by the PIDs in their pidfiles, even after a failed test.
"""

import glob
import grp
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import fixtures
from nova import utils as nova_utils
from oslo_log import log as logging

from nova_stx.lab import daemon_config
from nova_stx.lab import preflight
from nova_stx.lab import watchdog

LOG = logging.getLogger(__name__)

#: libvirt's system directories, bind-mounted per host.
SYSTEM_DIRS = {
    'etc': '/etc/libvirt',
    'run': '/run/libvirt',
    'lib': '/var/lib/libvirt',
    'cache': '/var/cache/libvirt',
    'log': '/var/log/libvirt',
}
#: The user and group libvirt's QEMU driver looks up at start-up.
QEMU_USER = 'libvirt-qemu'
START_TIMEOUT = 90
CALL_TIMEOUT = 20
STOP_TIMEOUT = 10
LAB_PREFIX = 'nova-stx-lab-'
#: Files in a lab's root: the PID of the process that owns the lab, and
#: the network namespaces it created.
OWNER_FILE = 'owner.pid'
NETNS_FILE = 'netns'


class LabError(Exception):
    """A lab step failed; the text says which step and why."""


def _run(cmd, what):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise LabError(f'{what} failed ({" ".join(cmd)}): '
                       f'{result.stderr.strip() or result.returncode}')
    return result.stdout


def _libvirt():
    # NOTE(nova-stx): imported on use so that the package imports (and
    # the demo can say why it skips) where libvirt-python is missing.
    import libvirt
    return libvirt


def _alive(pid, comm_prefix):
    try:
        with open(f'/proc/{pid}/comm') as comm:
            return comm.read().startswith(comm_prefix)
    except OSError:
        return False


def ensure_qemu_user():
    """Create the ``libvirt-qemu`` system user and group if missing.

    NOTE(nova-stx): the QEMU driver resolves its built-in user before it
    reads qemu.conf, and only libvirt-daemon-system (242 packages) would
    create it; without it libvirtd exits at start-up.
    """
    try:
        grp.getgrnam(QEMU_USER)
    except KeyError:
        _run(['groupadd', '--system', QEMU_USER], 'creating group')
    try:
        pwd.getpwnam(QEMU_USER)
    except KeyError:
        _run(['useradd', '--system', '--gid', QEMU_USER,
              '--no-create-home', '--home-dir', '/var/lib/libvirt',
              '--shell', '/usr/sbin/nologin', QEMU_USER], 'creating user')


class Host:
    """One libvirtd daemon: a lab host."""

    def __init__(self, spec, root, netns=None):
        self.spec = spec
        self.dir = os.path.join(root, spec.name)
        self.netns = netns
        self.process = None

    @property
    def name(self):
        return self.spec.name

    @property
    def socket(self):
        return os.path.join(self.dir, 'run', 'libvirt-sock')

    @property
    def uri(self):
        """Client URI of this host, through its unix socket."""
        return f'qemu+unix:///system?socket={self.socket}'

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def alive(self):
        return (self.process is not None and self.process.poll() is None
                and _alive(self.pid, 'libvirtd'))

    def open(self, timeout=CALL_TIMEOUT):
        """Return a new connection to this host.

        NOTE(nova-stx): wrapped as Nova's libvirt driver wraps its own:
        where Nova's test harness has monkey-patched the process with
        eventlet, each libvirt call then runs in a native thread, so a
        blocking one (a migration) does not stall every other; in native
        threading mode the connection is returned as it is.
        """
        libvirt = _libvirt()
        opener = nova_utils.tpool_wrap(
            libvirt.open, autowrap=(libvirt.virConnect, libvirt.virDomain))
        return watchdog.call(opener, self.uri, timeout=timeout,
                             what=f'open {self.uri}')

    def write_config(self):
        for sub in list(SYSTEM_DIRS) + ['guests']:
            os.makedirs(self.path(sub), exist_ok=True)
        with open(self.path('etc', 'libvirtd.conf'), 'w') as conf:
            conf.write(daemon_config.libvirtd_conf(self.spec))
        with open(self.path('etc', 'qemu.conf'), 'w') as conf:
            conf.write(daemon_config.qemu_conf(self.spec))

    def start(self):
        """Start the daemon and wait until it answers.

        :raises LabError: when it exits or does not answer in time; the
            text includes the end of its log.
        """
        self.launch()
        self.wait_ready()

    def launch(self):
        """Start the daemon without waiting for it."""
        for stale in glob.glob(self.path('run', 'libvirt*sock*')):
            os.unlink(stale)
        binds = '; '.join(f"mount --bind '{self.path(sub)}' '{target}'"
                          for sub, target in SYSTEM_DIRS.items())
        script = (f'hostname nova-stx-lab-{self.name}; {binds}; '
                  'exec libvirtd --listen '
                  '--pid-file /run/libvirt/libvirtd.pid')
        cmd = ['unshare', '--mount', '--uts', '--propagation', 'private',
               '--', 'sh', '-ec', script]
        if self.netns:
            cmd = ['ip', 'netns', 'exec', self.netns] + cmd
        # NOTE(nova-stx): every step execs the next, so the PID we hold is
        # libvirtd's own; a new session keeps a Ctrl-C of the test run
        # from killing it before the cleanup has aborted its jobs.
        with open(self.path('daemon.out'), 'ab') as out:
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True)

    def wait_ready(self):
        """Wait until the launched daemon answers; see :meth:`start`."""
        deadline = time.monotonic() + START_TIMEOUT
        last_error = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise LabError(f'host {self.name}: libvirtd exited with '
                               f'{self.process.returncode}: {self.log_tail()}')
            if os.path.exists(self.socket):
                try:
                    conn = self.open()
                    # NOTE(nova-stx): the first use probes QEMU's
                    # capabilities (seconds under TCG); do it now rather
                    # than inside a test's timed steps.
                    watchdog.call(conn.getCapabilities, timeout=60)
                    conn.close()
                    LOG.info('Lab host %(name)s: libvirtd pid %(pid)s at '
                             '%(address)s', {'name': self.name,
                                             'pid': self.pid,
                                             'address': self.spec.address})
                    return
                except Exception as exc:
                    last_error = exc
            time.sleep(0.2)
        raise LabError(f'host {self.name}: libvirtd did not answer within '
                       f'{START_TIMEOUT} s ({last_error}): {self.log_tail()}')

    def log_tail(self, lines=5):
        text = ''
        for name in (self.path('log', 'libvirtd.log'),
                     self.path('daemon.out')):
            try:
                with open(name, errors='replace') as log:
                    text += ''.join(log.readlines()[-lines:])
            except OSError:
                pass
        return text.strip() or '(no log)'

    @property
    def admin_uri(self):
        """URI of this daemon's admin interface (for ``virt-admin``)."""
        return ('libvirtd:///system?socket=' +
                self.path('run', 'libvirt-admin-sock'))

    def client_ids(self):
        """Return the IDs of the clients connected to this daemon."""
        return parse_client_ids(_run(
            ['virt-admin', '-c', self.admin_uri, 'srv-clients-list',
             'libvirtd'], 'listing clients'))

    def disconnect_client(self, client_id):
        """Close one client's connection from the daemon's side."""
        _run(['virt-admin', '-c', self.admin_uri, 'client-disconnect',
              'libvirtd', str(client_id)], 'disconnecting a client')

    def kill(self, sig=signal.SIGKILL):
        """Send ``sig`` to the daemon (fault injection)."""
        if self.alive():
            os.kill(self.pid, sig)
            self.process.wait(STOP_TIMEOUT)

    def qemu_pids(self):
        """Return PIDs of this host's running QEMU processes."""
        pids = []
        for pidfile in glob.glob(self.path('run', 'qemu', '*.pid')):
            try:
                with open(pidfile) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                continue
            if _alive(pid, 'qemu'):
                pids.append(pid)
        return pids

    def remove_guests(self):
        """Abort jobs, destroy and undefine every guest; errors logged."""
        libvirt = _libvirt()
        try:
            conn = self.open()
            domains = watchdog.call(conn.listAllDomains,
                                    timeout=CALL_TIMEOUT)
        except Exception as exc:
            LOG.warning('Lab host %(name)s: cannot list guests: %(exc)s',
                        {'name': self.name, 'exc': exc})
            return
        for dom in domains:
            for step in ('abortJob', 'destroy', 'undefine'):
                try:
                    watchdog.call(getattr(dom, step), timeout=CALL_TIMEOUT)
                except libvirt.libvirtError:
                    pass  # no job, not running, already gone
                except watchdog.Hung as exc:
                    LOG.warning('Lab host %(name)s: %(exc)s',
                                {'name': self.name, 'exc': exc})
        try:
            conn.close()
        except libvirt.libvirtError:
            pass

    def stop(self):
        """Remove guests, stop the daemon by PID, kill left-over QEMU."""
        if self.alive():
            self.remove_guests()
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                LOG.warning('Lab host %(name)s: libvirtd %(pid)s ignored '
                            'SIGTERM; killing it',
                            {'name': self.name, 'pid': self.pid})
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
        self.kill_qemu()

    def kill_qemu(self):
        for pid in self.qemu_pids():
            LOG.warning('Lab host %(name)s: killing left-over QEMU %(pid)s',
                        {'name': self.name, 'pid': pid})
            os.kill(pid, signal.SIGKILL)


def parse_client_ids(table):
    """Return the client IDs in ``virt-admin srv-clients-list`` output.

    :param table: the command's output: a header, a rule, then one row
        per client starting with its numeric ID.
    :returns: a list of ints, in the order listed.
    """
    ids = []
    for line in table.splitlines():
        fields = line.split()
        if fields and fields[0].isdigit():
            ids.append(int(fields[0]))
    return ids


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

    @property
    def a(self):
        return self.hosts[0]

    @property
    def b(self):
        return self.hosts[1]

    def _setUp(self):
        reason = preflight.why_not()
        if reason:
            raise LabError(reason)
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
        _libvirt().registerErrorHandler(lambda ctx, err: None, None)
        ensure_qemu_user()
        for target in SYSTEM_DIRS.values():
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
        self.hosts = tuple(Host(spec, self.root, ns)
                           for spec, ns in zip(specs, namespaces))
        for host in self.hosts:
            host.write_config()
            # NOTE(nova-stx): both daemons probe QEMU at start-up; letting
            # them do it side by side saves several seconds.
            host.launch()
        for host in self.hosts:
            host.wait_ready()

    def _network(self, uuids):
        if self.requested_mode == daemon_config.LOOPBACK:
            return daemon_config.LOOPBACK
        token = secrets.token_hex(3)
        try:
            for name in 'ab':
                netns = f'nova-stx-{token}-{name}'
                _run(['ip', 'netns', 'add', netns], 'creating netns')
                self._namespaces.append(netns)
                with open(os.path.join(self.root, NETNS_FILE), 'a') as f:
                    f.write(netns + '\n')
            ns_a, ns_b = self._namespaces
            _run(['ip', 'link', 'add', 'lab0', 'netns', ns_a, 'type',
                  'veth', 'peer', 'name', 'lab0', 'netns', ns_b],
                 'creating veth pair')
            for i, netns in enumerate(self._namespaces):
                address = f'{daemon_config.NETNS_SUBNET}.{i + 1}/24'
                _run(['ip', '-n', netns, 'addr', 'add', address, 'dev',
                      'lab0'], 'adding address')
                for dev in ('lo', 'lab0'):
                    _run(['ip', '-n', netns, 'link', 'set', dev, 'up'],
                         'bringing link up')
        except LabError as exc:
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
        if not entry.isdigit() or not _alive(int(entry), 'qemu'):
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
            if pid.isdigit() and _alive(int(pid), 'libvirtd'):
                os.kill(int(pid), signal.SIGKILL)
        for pid in _qemu_using(root):
            os.kill(pid, signal.SIGKILL)
        for netns in _read(os.path.join(root, NETNS_FILE)).split():
            subprocess.run(['ip', 'netns', 'del', netns],
                           capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed
