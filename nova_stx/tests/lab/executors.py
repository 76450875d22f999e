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

"""Nova's thread pools, per real-libvirt test.

Nova's driver runs its migration monitor and operation through
``nova.thread_pool_factory``, whose executors are process-wide. Nova's
own test base (``IsolatedExecutorFixture``) asserts that none is left
when a test starts, so one left by a real-libvirt test fails every Nova
functional test that runs after it on the same worker. Nova's fixture
waits for every thread at cleanup; a real test's threads may still be
blocked in libvirt (the lab's guests are removed by then, so they end on
their own), so this one shuts the executors down without waiting and
hands a fresh factory state to the next test.
"""

import fixtures
from nova import thread_pool_factory


class OwnExecutors(fixtures.Fixture):
    """Start and end a test with no Nova executor alive in the factory."""

    def _setUp(self):
        self._release()
        self.addCleanup(self._release)

    @staticmethod
    def _release():
        factory = thread_pool_factory.FACTORY
        with factory._shutdown_lock:
            executors = list(factory._all_executors.values())
            factory._all_executors.clear()
        for executor in executors:
            executor.shutdown(wait=False)
