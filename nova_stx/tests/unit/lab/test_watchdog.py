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

import threading

from oslotest import base

from nova_stx.tests.lab import watchdog


class CallTest(base.BaseTestCase):

    def test_call_returns_value(self):
        self.assertEqual(5, watchdog.call(max, 2, 5, timeout=10))

    def test_call_reraises_error(self):
        self.assertRaises(KeyError, watchdog.call, {}.__getitem__, 'x',
                          timeout=10)

    def test_call_blocked_raises_hung_naming_call(self):
        release = threading.Event()
        self.addCleanup(release.set)
        exc = self.assertRaises(watchdog.Hung, watchdog.call, release.wait,
                                timeout=0.01, what='jobStats')
        self.assertEqual('jobStats did not return within 0.01 s', str(exc))
