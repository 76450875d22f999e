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

"""The CPU-report guest's kernel builds and its lines parse."""

import os
import shutil
import unittest

import fixtures
from oslotest import base

from nova_stx.tests.lab import cpu_report
from nova_stx.tests.lab import host as lab_host

#: A line the guest printed under TCG for -cpu Nehalem.
NEHALEM = ('cpureport: n=7 vendor=GenuineIntel family=6 model=26 '
           'stepping=3 hpet_acpi=1 hpet_mmio=0 sse4.2=1 avx2=0 '
           'spec-ctrl=0 pdpe1gb=1 name=Intel Core i7 9xx (Nehalem Class '
           'Core i7)')


class ParseTest(base.BaseTestCase):

    def test_parse_line(self):
        report = cpu_report.parse(NEHALEM)
        self.assertEqual(7, report.n)
        self.assertEqual(('GenuineIntel', 6, 26, 3),
                         (report.vendor, report.family, report.model,
                          report.stepping))
        self.assertEqual((True, False, False),
                         (report.hpet_acpi, report.hpet_mmio, report.hpet))
        self.assertEqual({'sse4.2': True, 'avx2': False,
                          'spec-ctrl': False, 'pdpe1gb': True},
                         report.features)
        self.assertEqual('Intel Core i7 9xx (Nehalem Class Core i7)',
                         report.name)
        self.assertTrue(report.cpuid_line().startswith(
            'vendor=GenuineIntel family=6'))

    def test_identity_ignores_the_count(self):
        later = cpu_report.parse(NEHALEM.replace('n=7', 'n=12'))
        self.assertEqual(cpu_report.parse(NEHALEM).identity(),
                         later.identity())
        other = cpu_report.parse(NEHALEM.replace('avx2=0', 'avx2=1'))
        self.assertNotEqual(later.identity(), other.identity())

    def test_not_a_report(self):
        self.assertIsNone(cpu_report.parse('memload: ready'))
        self.assertIsNone(cpu_report.parse('cpureport: n=x'))

    def test_reports_skip_firmware_and_partial_lines(self):
        text = ('SeaBIOS (version 1.16)\r\nBooting from ROM..' + NEHALEM +
                '\n' + NEHALEM.replace('n=7', 'n=8') + '\n' +
                NEHALEM.replace('n=7', 'n=9')[:40])
        self.assertEqual([7, 8], [r.n for r in cpu_report.reports(text)])

    def test_wait_for_report_newer_than(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        log = os.path.join(tmp, 'console.log')
        with open(log, 'w') as f:
            f.write(NEHALEM + '\n')
        self.assertEqual(7, cpu_report.wait_for_report(log).n)
        exc = self.assertRaises(lab_host.LabError,
                                cpu_report.wait_for_report, log, after=7,
                                timeout=0.2)
        self.assertIn('no cpureport after number 7', str(exc))


class BuildTest(base.BaseTestCase):

    @unittest.skipUnless(shutil.which('gcc'), 'gcc is not installed')
    def test_kernel_builds_as_a_multiboot_image(self):
        # NOTE(nova-stx): gcc is a test dependency (bindep.txt); the
        # real-libvirt tests build the same kernel.
        kernel = cpu_report.build_kernel(self.useFixture(
            fixtures.TempDir()).path)
        with open(kernel, 'rb') as f:
            image = f.read()
        self.assertEqual(b'\x7fELF', image[:4])
        # The multiboot magic, in the first 8 KiB as the loader requires.
        self.assertIn((0x1BADB002).to_bytes(4, 'little'), image[:8192])
