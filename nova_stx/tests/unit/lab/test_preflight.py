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

from unittest import mock

from oslotest import base

from nova_stx.tests.lab import preflight


class WhyNotTest(base.BaseTestCase):

    @mock.patch('os.geteuid', return_value=1000)
    def test_why_not_not_root(self, _geteuid):
        self.assertEqual(preflight.NOT_ROOT, preflight.why_not())

    @mock.patch('shutil.which', return_value=None)
    @mock.patch('os.geteuid', return_value=0)
    def test_why_not_root_missing_commands_named(self, _geteuid, _which):
        reason = preflight.why_not()
        self.assertIn("command 'libvirtd' not found (install "
                      'libvirt-daemon', reason)
        self.assertIn("'qemu-system-x86_64'", reason)

    @mock.patch('shutil.which', return_value='/usr/bin/x')
    @mock.patch('importlib.util.find_spec', return_value=object())
    @mock.patch('os.geteuid', return_value=0)
    def test_why_not_all_present(self, _geteuid, _spec, _which):
        self.assertIsNone(preflight.why_not())
