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

"""The base of every test on the real two-host libvirt lab."""

import itertools
import os
import unittest

from oslotest import base

from nova_stx.tests.lab import executors
from nova_stx.tests.lab import preflight
from nova_stx.tests.lab import two_hosts

#: Environment variable choosing the lab's network: netns, loopback or
#: auto (the default: netns when possible).
MODE_VARIABLE = 'NOVA_STX_LAB_MODE'


class LabTestCase(base.BaseTestCase):
    """Sets the two-host lab up once for the class; one guest kernel.

    Subclasses say which kernel their guests boot in
    :meth:`build_kernel`.
    """

    lab = None
    kernel = None
    _names = itertools.count()

    @staticmethod
    def build_kernel(root):
        """Build the guest kernel under ``root``; return its path."""
        raise NotImplementedError()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not preflight.is_root():
            raise unittest.SkipTest(preflight.NOT_ROOT)
        # NOTE(nova-stx): root but a missing prerequisite is a broken CI
        # machine, not a reason to skip: TwoHostLab raises with the why.
        lab = two_hosts.TwoHostLab(mode=os.environ.get(MODE_VARIABLE,
                                                       'auto'))
        lab.setUp()
        cls.lab = lab
        try:
            cls.kernel = cls.build_kernel(lab.root)
        except Exception:
            lab.cleanUp()
            cls.lab = None
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.lab is not None:
            cls.lab.cleanUp()
            cls.lab = None
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.useFixture(executors.OwnExecutors())
        # NOTE(nova-stx): runs even when the test fails: a peer-to-peer
        # job outlives its client, so no guest or job may leak into the
        # next test.
        self.addCleanup(self._remove_guests)

    def _remove_guests(self):
        for host in self.lab.hosts:
            if host.alive():
                host.remove_guests()
