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

"""Sizes, rates and link speeds with their units."""

import argparse

from oslotest import base

from nova_stx.cmd import inputs
from nova_stx.cmd import migration_workload as workload
from nova_stx.cmd import units

GIB = 1 << 30


class UnitsTest(base.BaseTestCase):

    def test_sizes(self):
        for text, value in (('64GiB', 64 * GIB), ('64 GiB', 64 * GIB),
                            ('64GIB', 64 * GIB), ('4096MiB', 4 * GIB),
                            ('0.5TiB', 512 * GIB), ('8GB', 8e9),
                            ('8000kB', 8e6), ('1.5e3MiB', 1500 << 20)):
            self.assertEqual(value, workload.RAM(text), text)

    def test_rates_bytes_and_bits(self):
        for text, value in (('1GB/s', 1e9), ('1GBps', 1e9),
                            ('200MiB/s', 200 << 20), ('8Gbit/s', 1e9),
                            ('8Gb/s', 1e9), ('8gbit/s', 1e9),
                            ('8Gbps', 1e9), ('0B/s', 0.0),
                            ('1GIB/s', GIB), ('8kbit/s', 1e3)):
            self.assertEqual(value, workload.DIRTY_RATE(text), text)

    def test_links(self):
        for text, value in (('10GbE', 1.25e9), ('10gbe', 1.25e9),
                            ('2.5GbE', 2.5e9 / 8), ('25Gbit/s', 25e9 / 8),
                            ('100Mbit/s', 100e6 / 8), ('1GB/s', 1e9)):
            self.assertEqual(value, workload.LINK(text), text)

    def test_errors_name_value_and_rule(self):
        for kind, text, error in (
                (workload.RAM, '64', "'64' needs a unit, e.g. 64GiB"),
                (workload.RAM, '64gib', "'64gib' has the unit 'gib' in the "
                 "wrong case (B is a byte, b a bit): did you mean GiB?"),
                (workload.DIRTY_RATE, '1gb/s', 'did you mean GB/s or Gb/s?'),
                (workload.DIRTY_RATE, '1mbps', 'did you mean MBps or Mbps?'),
                (workload.RAM, '64Gb', 'did you mean GB?'),
                (workload.RAM, '64xB', "unknown unit 'xB'; use one of B, "
                 "kB, KB, MB, GB, TB, KiB, MiB, GiB, TiB"),
                (workload.RAM, '0GiB', "must be from 1 MiB to 16 TiB, got "
                 "'0GiB'"),
                (workload.RAM, '1e400GiB', 'must be from 1 MiB to 16 TiB'),
                (workload.RAM, 'nanGiB', "'nanGiB' is not a number and "
                 "unit like 64GiB"),
                (workload.RAM, '-1GiB', 'is not a number and unit'),
                (workload.RAM, '\u0663GiB', 'is not a number and unit'),
                (workload.RAM, '9' * 50 + 'GiB', 'is not a number'),
                (workload.DIRTY_RATE, '1MBPs/s', 'unknown unit'),
                (workload.DIRTY_RATE, '2TB/s', "must be 0 or from 1 B/s to "
                 "1 TB/s, got '2TB/s'"),
                (workload.DIRTY_RATE, '1GiB', "unknown unit 'GiB'"),
                (workload.LINK, '10GbE/s', 'or NGbE (N Gbit/s Ethernet)'),
                (workload.LINK, 'GbE', 'is not a number and unit like '
                 '10GbE'),
                (workload.LINK, '0.5Mbit/s', "must be from 1 Mbit/s to 1 "
                 "Tbit/s, got '0.5Mbit/s'"),
                (workload.LINK, '0GbE', 'must be from 1 Mbit/s')):
            exc = self.assertRaises(argparse.ArgumentTypeError, kind, text)
            self.assertIn(error, str(exc), text)

    def test_texts_for_messages(self):
        self.assertEqual(('16 TiB', '1.5 GiB', '512 B', '1 Mbit/s',
                          '10 Gbit/s'),
                         (units.size_text(16 << 40),
                          units.size_text(1.5 * GIB), units.size_text(512),
                          units.link_text(1e6 / 8),
                          units.link_text(1.25e9)))

    def test_whole_number(self):
        seed = inputs.whole_number(0, 99)
        self.assertEqual((0, 99, 7), (seed('0'), seed('99'), seed(' 7 ')))
        for text in ('-1', '100', '1e2', '1.0', '', '٣', '9' * 5000):
            exc = self.assertRaises(argparse.ArgumentTypeError, seed, text)
            self.assertIn('must be a whole number from 0 to 99', str(exc))
