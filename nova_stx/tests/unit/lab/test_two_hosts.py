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
import shutil
import tempfile

from oslotest import base

from nova_stx.tests.lab import two_hosts


class SweepStaleLabsTest(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def _lab(self, owner):
        root = tempfile.mkdtemp(prefix=two_hosts.LAB_PREFIX, dir=self.tmp)
        with open(os.path.join(root, two_hosts.OWNER_FILE), 'w') as f:
            f.write(owner)
        return root

    def test_sweep_stale_labs_live_owner_kept(self):
        root = self._lab(str(os.getpid()))
        self.assertEqual([], two_hosts.sweep_stale_labs(self.tmp))
        self.assertTrue(os.path.isdir(root))

    def test_sweep_stale_labs_dead_owner_removed(self):
        # PID 0 never names a process in /proc.
        root = self._lab('0')
        self.assertEqual([root], two_hosts.sweep_stale_labs(self.tmp))
        self.assertFalse(os.path.exists(root))
