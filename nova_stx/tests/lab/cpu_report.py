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

"""The lab's second guest: a tiny kernel that reports its CPU and HPET.

Built with gcc at setup time from ``guest_kernel/cpureport.c``, with the
flags and linker script of the memory-load guest
(:mod:`nova_stx.tests.lab.guest`), which it leaves as it is. Every two
seconds it runs CPUID again and prints one ``cpureport:`` line on its
first serial port: vendor, family, model, stepping, whether an HPET is
present (ACPI table, MMIO registers), a set of feature bits under
libvirt's names, and the brand string. The report count lives in guest
memory, so it continues across a live migration.
"""

import dataclasses
import os
import re
import subprocess
import time

from nova_stx.tests.lab import guest as lab_guest
from nova_stx.tests.lab import host as lab_host

SOURCE = os.path.join(lab_guest.SOURCE_DIR, 'cpureport.c')
KERNEL_NAME = 'cpureport.elf'
PREFIX = 'cpureport: '
_LINE = re.compile(r'^cpureport: n=(?P<n>[0-9]+) (?P<fields>.*?) '
                   r'name=(?P<name>.*)$')


def build_kernel(work_dir):
    """Compile the CPU-report kernel into ``work_dir``; return its path.

    :raises lab_host.LabError: with gcc's messages when it fails.
    """
    kernel = os.path.join(work_dir, KERNEL_NAME)
    cmd = ['gcc', *lab_guest.GCC_FLAGS, '-T', lab_guest.LINKER_SCRIPT,
           '-o', kernel, SOURCE]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise lab_host.LabError(
            f'building the CPU-report kernel failed: '
            f'{result.stderr.strip()} (a 32-bit capable gcc and binutils '
            f'are needed)')
    return kernel


@dataclasses.dataclass(frozen=True)
class Report:
    """One ``cpureport:`` line, parsed."""

    n: int
    vendor: str
    family: int
    model: int
    stepping: int
    hpet_acpi: bool
    hpet_mmio: bool
    #: libvirt feature name -> whether CPUID reports it.
    features: dict
    name: str
    line: str

    @property
    def hpet(self):
        """An HPET both listed in ACPI and answering at its address."""
        return self.hpet_acpi and self.hpet_mmio

    def identity(self):
        """Everything but the count: what must survive a migration."""
        return (self.vendor, self.family, self.model, self.stepping,
                self.hpet_acpi, self.hpet_mmio,
                tuple(sorted(self.features.items())), self.name)

    def cpuid_line(self):
        """The line without its count, for reports and messages."""
        return self.line.split(' ', 2)[2]


def parse(line):
    """Parse one report line; return a :class:`Report` or None."""
    match = _LINE.match(line.strip('\r'))
    if not match:
        return None
    fields = dict(item.split('=', 1) for item in
                  match.group('fields').split())
    bits = {k: v == '1' for k, v in fields.items()
            if k not in ('vendor', 'family', 'model', 'stepping',
                         'hpet_acpi', 'hpet_mmio')}
    return Report(int(match.group('n')), fields['vendor'],
                  int(fields['family']), int(fields['model']),
                  int(fields['stepping']), fields['hpet_acpi'] == '1',
                  fields['hpet_mmio'] == '1', bits,
                  match.group('name').strip(), line.strip('\r'))


def reports(text):
    """Return the complete report lines in ``text``, parsed, in order.

    A console log may start with firmware output on the same line and
    end in a line still being written; only whole lines count.
    """
    found = []
    for line in text.split('\n')[:-1]:
        start = line.find(PREFIX)
        if start >= 0:
            report = parse(line[start:])
            if report:
                found.append(report)
    return found


def wait_for_report(log, after=0, timeout=30):
    """Wait for a report numbered above ``after`` in the file ``log``.

    :returns: the newest :class:`Report`.
    :raises lab_host.LabError: when none comes within ``timeout`` s.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = reports(lab_guest.read_log(log))
        if found and found[-1].n > after:
            return found[-1]
        if time.monotonic() >= deadline:
            raise lab_host.LabError(
                f'guest log {log} has no cpureport after number {after} '
                f'within {timeout} s: '
                f'{lab_guest.read_log(log)[-300:]!r}')
        time.sleep(0.1)
