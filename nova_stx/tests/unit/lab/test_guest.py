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

import os
import tempfile

from oslotest import base

from nova_stx.tests.lab import guest
from nova_stx.tests.lab import host as lab_host


class DomainXmlTest(base.BaseTestCase):

    def test_domain_xml_tcg_guest_with_load_arguments(self):
        xml = guest.domain_xml('g1', '/k/memload.elf', '/l/g1.log', 40, 16)
        self.assertIn("<domain type='qemu'>", xml)
        self.assertIn('<cmdline>fill=40 dirty=16</cmdline>', xml)
        self.assertIn("<memory unit='MiB'>128</memory>", xml)
        self.assertIn("<source path='/l/g1.log'/>", xml)

    def test_domain_xml_escapes_name(self):
        xml = guest.domain_xml('a<b', '/k', '/l', 1, 0)
        self.assertIn('<name>a&lt;b</name>', xml)

    def test_domain_xml_dirty_above_fill_rejected(self):
        self.assertRaises(ValueError, guest.domain_xml, 'g', '/k', '/l',
                          4, 8)

    def test_domain_xml_fill_not_below_memory_rejected(self):
        self.assertRaises(ValueError, guest.domain_xml, 'g', '/k', '/l',
                          128, 0)

    def test_kernel_sources_shipped(self):
        self.assertTrue(os.path.isfile(guest.SOURCE))
        self.assertTrue(os.path.isfile(guest.LINKER_SCRIPT))


class HeartbeatTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        fd, self.log = tempfile.mkstemp()
        os.close(fd)
        self.addCleanup(os.unlink, self.log)

    def _write(self, text):
        with open(self.log, 'w') as f:
            f.write(text)

    def test_last_beat_latest_number(self):
        self._write('memload: ready\nmemload: beat 22\nmemload: beat 23\n')
        self.assertEqual(23, guest.last_beat(self.log))

    def test_last_beat_none_yet(self):
        self._write('memload: ready\n')
        self.assertEqual(0, guest.last_beat(self.log))

    def test_last_beat_missing_log(self):
        self.assertEqual(0, guest.last_beat(self.log + '.missing'))

    def test_wait_for_beat_already_higher_returns(self):
        self._write('memload: beat 7\n')
        guest.wait_for_beat(self.log, 6, timeout=0)

    def test_wait_for_beat_no_progress_raises(self):
        self._write('memload: beat 7\n')
        self.assertRaises(lab_host.LabError, guest.wait_for_beat,
                          self.log, 7, timeout=0)
