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

"""The lab guest: a tiny multiboot kernel that loads memory, under TCG.

The kernel is built with gcc at setup time from the C source and linker
script shipped in ``guest_kernel/`` (about 6 KiB, a fraction of a
second); its command line ``fill=N dirty=M`` makes it write N MiB at boot
and then rewrite M MiB for ever, which sets how hard a live migration
must work to converge. The domain is ``type='qemu'`` (TCG), 128 MiB, one
vCPU, no disk, no network; its serial port goes to a file.
"""

import os
import re
import subprocess
import time
from xml.sax import saxutils

from nova_stx.tests.lab import host as lab_host

SOURCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          'guest_kernel')
SOURCE = os.path.join(SOURCE_DIR, 'memload.c')
LINKER_SCRIPT = os.path.join(SOURCE_DIR, 'kernel.ld')
KERNEL_NAME = 'memload.elf'
#: Printed on the serial port once the fill is done.
READY = 'memload: ready'
#: Printed on the serial port now and then while dirtying.
BEAT = 'memload: beat'
MEMORY_MIB = 128

GCC_FLAGS = (
    '-m32', '-march=i686', '-O2', '-std=gnu11', '-ffreestanding',
    '-fno-pic', '-fno-pie', '-no-pie', '-fno-stack-protector',
    '-fno-asynchronous-unwind-tables', '-nostdlib', '-static',
    '-Wl,--build-id=none', '-Wl,--no-warn-rwx-segments',
)


def build_kernel(work_dir):
    """Compile the guest kernel into ``work_dir``.

    :param work_dir: a directory both lab hosts can read.
    :returns: the kernel's path.
    :raises lab_host.LabError: with gcc's messages when it fails.
    """
    kernel = os.path.join(work_dir, KERNEL_NAME)
    cmd = ['gcc', *GCC_FLAGS, '-T', LINKER_SCRIPT, '-o', kernel, SOURCE]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise lab_host.LabError(
            f'building the lab guest kernel failed: {result.stderr.strip()}'
            ' (a 32-bit capable gcc and binutils are needed)')
    return kernel


def domain_xml(name, kernel, serial_log, fill_mib, dirty_mib,
               memory_mib=MEMORY_MIB):
    """Return the libvirt domain XML of a lab guest.

    :param name: the domain name.
    :param kernel: path of the built kernel.
    :param serial_log: file the guest's serial port writes to.
    :param fill_mib: MiB written once at boot.
    :param dirty_mib: MiB rewritten continuously (0: idle after fill).
    :param memory_mib: guest RAM.
    :returns: the XML text.
    """
    if not 0 <= dirty_mib <= fill_mib < memory_mib:
        raise ValueError(
            f'need 0 <= dirty ({dirty_mib}) <= fill ({fill_mib}) < memory '
            f'({memory_mib}) MiB')
    esc = saxutils.escape
    # NOTE(nova-stx): type 'qemu' (TCG): /dev/kvm may exist on CI machines
    # without being usable, and a named CPU model keeps TCG fast.
    return f"""<domain type='qemu'>
  <name>{esc(name)}</name>
  <memory unit='MiB'>{memory_mib}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{esc(kernel)}</kernel>
    <cmdline>fill={fill_mib} dirty={dirty_mib}</cmdline>
  </os>
  <cpu mode='custom' match='exact'>
    <model fallback='allow'>qemu64</model>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='{esc(serial_log)}'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def serial_log(host, name):
    """Return where guest ``name`` logs its serial port on ``host``."""
    return host.path('guests', f'{name}.serial.log')


def destination_xml(xml, source_host, dest_host, name):
    """Return ``xml`` with the serial log moved to the destination's dir.

    :param xml: the migratable XML of the guest on ``source_host``.
    :returns: the XML for ``dest_host``.
    """
    return xml.replace(serial_log(source_host, name),
                       serial_log(dest_host, name))


def start(host, kernel, name, fill_mib, dirty_mib, timeout=30):
    """Define and start a lab guest on ``host``; wait until it is loaded.

    :returns: ``(connection, domain)``; the caller closes the connection.
    :raises lab_host.LabError: when the guest does not report ready.
    """
    log = serial_log(host, name)
    if os.path.exists(log):
        os.unlink(log)
    conn = host.open()
    dom = conn.defineXML(domain_xml(name, kernel, log, fill_mib, dirty_mib))
    dom.create()
    wait_for(log, READY, timeout)
    return conn, dom


def wait_for(log, text, timeout):
    """Wait until ``text`` appears in the serial ``log``.

    :raises lab_host.LabError: when it does not within ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    while text not in read_log(log):
        if time.monotonic() >= deadline:
            raise lab_host.LabError(
                f"guest log {log} has no '{text}' after {timeout} s: "
                f'{read_log(log)[-300:]!r}')
        time.sleep(0.05)


def read_log(log):
    try:
        with open(log, errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return ''


def last_beat(log):
    """Return the number of the guest's latest heartbeat, or 0."""
    numbers = re.findall(BEAT + r' ([0-9]+)', read_log(log))
    return int(numbers[-1]) if numbers else 0


def wait_for_beat(log, after, timeout):
    """Wait until the guest logs a heartbeat numbered above ``after``.

    The number continues across a migration (it lives in guest memory),
    so a higher one in the destination's log proves the guest runs there.

    :raises lab_host.LabError: when none comes within ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    while last_beat(log) <= after:
        if time.monotonic() >= deadline:
            raise lab_host.LabError(
                f'guest log {log} has no heartbeat after number {after} '
                f'within {timeout} s')
        time.sleep(0.1)
