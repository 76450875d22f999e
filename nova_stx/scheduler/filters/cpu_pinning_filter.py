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

"""Prune hosts that cannot pin the guest's dedicated vCPUs.

Dedicated and mixed pCPU availability and thread-policy feasibility
(free full cores for ``isolate``/``require``, SMT presence) alone: cheap,
so it can run before ``StxNUMATopologyFilter`` with a precise reason.
"""

from nova_stx.scheduler.filters import base
from nova_stx.scheduler.filters import conversions
from nova_stx.scheduler.filters import numa_topology_filter
from nova_stx.scheduler.numa import precheck


class StxCPUPinningFilter(base.ExplainedHostFilter):
    """Pass hosts with enough free pCPUs for the guest's pinned vCPUs."""

    # NOTE(nova-stx): as the NUMA filter: a rebuild cannot change the CPU
    # policy and the instance's pCPUs are already held on the host.
    RUN_ON_REBUILD = False

    # NOTE(nova-stx): pinned pCPUs change with every instance of a
    # multi-create request.
    run_filter_once_per_request = False

    def check(self, host_state, spec_obj):
        request = conversions.request_topology(spec_obj)
        host, why = numa_topology_filter.host_with_policy_check(
            host_state, spec_obj, request is not None)
        if why:
            return why
        if request is None or not any(gc.pinned for gc in request.cells):
            return None
        if host is None:
            return ('no host NUMA topology while the instance requests '
                    'dedicated CPUs')
        return precheck.check_pinning(host, request)
