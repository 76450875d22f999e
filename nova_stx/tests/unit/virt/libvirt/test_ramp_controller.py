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

"""The ramp controller (``nova`` and ``starlingx``), with numbers."""

import math

from oslotest import base

from nova_stx import keys
from nova_stx.virt.libvirt import decisions
from nova_stx.virt.libvirt import job_stats
from nova_stx.virt.libvirt import migration_policy as mp
from nova_stx.virt.libvirt import ramp_controller


def _plan(timeout='180', downtime='500', **settings):
    return mp.plan({keys.LIVE_MIGRATION_TIMEOUT.flavor: timeout,
                    keys.LIVE_MIGRATION_MAX_DOWNTIME.flavor: downtime},
                   {}, {}, 2.0, mp.Settings(**settings))


def _poll(controller, seconds, interval=0.5):
    found = []
    for i in range(1, int(seconds / interval) + 1):
        sample = job_stats.JobSample(elapsed_s=i * interval)
        found += [(i * interval, d) for d in controller.observe(sample)]
    return found


class RampControllerTest(base.BaseTestCase):

    def test_starlingx_ramp_then_timeout_abort(self):
        controller = ramp_controller.RampController(_plan())
        self.assertEqual(50, controller.initial_downtime_ms)
        found = _poll(controller, 200)
        steps = [(t, d.downtime_ms) for t, d in found
                 if d.action == decisions.SET_DOWNTIME]
        # The first step again at the first poll, as Nova's monitor does.
        self.assertEqual([(0.5, 50), (12.5, 95)], steps[:2])
        self.assertEqual((120.5, 500), steps[-1])
        self.assertEqual(11, len(steps))
        (t, abort), = [(t, d) for t, d in found
                       if d.action == decisions.ABORT]
        self.assertEqual((180.5, decisions.TIMEOUT), (t, abort.cause))
        self.assertEqual('Live migration timeout after 180 sec.',
                         abort.reason)

    def test_nova_does_not_set_before_the_first_poll(self):
        controller = ramp_controller.RampController(
            _plan(ramp='nova'), set_initial=False)
        self.assertIsNone(controller.initial_downtime_ms)
        first = _poll(controller, 0.5)
        self.assertEqual([(0.5, 50)], [(t, d.downtime_ms)
                                       for t, d in first])

    def test_force_complete_action(self):
        controller = ramp_controller.RampController(_plan(
            timeout_action='force_complete'))
        actions = [d.action for _, d in _poll(controller, 200)]
        self.assertEqual(decisions.FORCE_COMPLETE, actions[-1])

    def test_post_copy_is_left_alone(self):
        controller = ramp_controller.RampController(_plan())
        self.assertEqual((), controller.observe(job_stats.JobSample(
            elapsed_s=500, post_copy=True)))

    def test_next_poll_names_the_next_step_or_timeout(self):
        controller = ramp_controller.RampController(_plan())
        self.assertEqual(0.0, controller.next_poll_s(0.0))
        controller.observe(job_stats.JobSample(elapsed_s=0.5))
        self.assertEqual(12, controller.next_poll_s(0.5))
        _poll(controller, 130)
        self.assertEqual(180, controller.next_poll_s(130))
        _poll(controller, 200)
        self.assertEqual(math.inf, controller.next_poll_s(200))
