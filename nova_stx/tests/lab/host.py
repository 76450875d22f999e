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

"""One lab host: a libvirtd daemon in private namespaces.

The daemon runs under ``unshare --mount --uts`` (and ``ip netns exec`` in
netns mode) with libvirt's system directories bind-mounted from the
host's own directory, so its configuration, sockets, state, cache and
logs are its own. :class:`Host` starts it, opens connections to it,
injects faults (kill, client disconnect) and stops it by its PID.
"""

import glob
import grp
import os
import pwd
import signal
import subprocess
import time

from nova import utils as nova_utils
from oslo_log import log as logging

from nova_stx.tests.lab import daemon_config
from nova_stx.tests.lab import watchdog

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


class LabError(Exception):
    """A lab step failed; the text says which step and why."""


def run(cmd, what):
    """Run ``cmd``; return its output or raise :class:`LabError`."""
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise LabError(f'{what} failed ({" ".join(cmd)}): '
                       f'{result.stderr.strip() or result.returncode}')
    return result.stdout


def libvirt_module():
    """Return the libvirt module, imported on first use."""
    # NOTE(nova-stx): imported on use so that the package imports (and
    # the demo can say why it skips) where libvirt-python is missing.
    import libvirt
    return libvirt


def process_alive(pid, comm_prefix):
    """Return whether process ``pid`` runs a program ``comm_prefix``*."""
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
        run(['groupadd', '--system', QEMU_USER], 'creating group')
    try:
        pwd.getpwnam(QEMU_USER)
    except KeyError:
        run(['useradd', '--system', '--gid', QEMU_USER,
             '--no-create-home', '--home-dir', '/var/lib/libvirt',
             '--shell', '/usr/sbin/nologin', QEMU_USER], 'creating user')


class Host:
    """One libvirtd daemon: a lab host.

    :param spec: its :class:`~nova_stx.tests.lab.daemon_config.HostSpec`.
    :param root: the lab's directory; this host's is ``<root>/<name>``.
    :param netns: the network namespace to run in, or None.
    """

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
        """Return a path inside this host's directory."""
        return os.path.join(self.dir, *parts)

    def alive(self):
        """Return whether this host's libvirtd runs."""
        return (self.process is not None and self.process.poll() is None
                and process_alive(self.pid, 'libvirtd'))

    def open(self, timeout=CALL_TIMEOUT):
        """Return a new connection to this host.

        NOTE(nova-stx): wrapped as Nova's libvirt driver wraps its own:
        where Nova's test harness has monkey-patched the process with
        eventlet, each libvirt call then runs in a native thread, so a
        blocking one (a migration) does not stall every other; in native
        threading mode the connection is returned as it is.
        """
        libvirt = libvirt_module()
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
        return parse_client_ids(run(
            ['virt-admin', '-c', self.admin_uri, 'srv-clients-list',
             'libvirtd'], 'listing clients'))

    def disconnect_client(self, client_id):
        """Close one client's connection from the daemon's side."""
        run(['virt-admin', '-c', self.admin_uri, 'client-disconnect',
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
            if process_alive(pid, 'qemu'):
                pids.append(pid)
        return pids

    def remove_guests(self):
        """Abort jobs, destroy and undefine every guest; errors logged."""
        libvirt = libvirt_module()
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
