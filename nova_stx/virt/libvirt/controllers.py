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

"""The controller a ``MigrationPlan`` names (``[nova_stx]
live_migration_controller``)."""

from nova_stx.virt.libvirt import migration_policy
from nova_stx.virt.libvirt import ramp_controller
from nova_stx.virt.libvirt import sla_controller


def build(plan, post_copy=None, auto_converge=None):
    """Return the controller of one supervised migration.

    :param plan: a ``MigrationPlan``.
    :param post_copy: whether the job has post-copy armed; None: the plan's.
    :param auto_converge: whether the job throttles the guest; None: the
        plan's per-instance choice.
    :returns: a ``SlaController`` for ``sla``, else a ``RampController``
        (a ``nova`` plan is only supervised when a key set its limits).
    """
    if plan.controller == migration_policy.SLA:
        return sla_controller.SlaController.from_plan(plan, post_copy,
                                                      auto_converge)
    return ramp_controller.RampController(plan)
