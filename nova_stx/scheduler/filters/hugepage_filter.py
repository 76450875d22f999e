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

"""Prune hosts whose memory pages cannot back the guest's NUMA cells.

The page-size part of the NUMA fit alone: cheap, so it can run before
``StxNUMATopologyFilter`` and say precisely which page size is short
where.
"""

from nova_stx.scheduler.filters import base
from nova_stx.scheduler.filters import conversions
from nova_stx.scheduler.numa import precheck


class StxHugepageFilter(base.ExplainedHostFilter):
    """Pass hosts with enough free pages of the requested size."""

    # NOTE(nova-stx): as the NUMA filter: a rebuild cannot change the NUMA
    # constraints and the instance's pages are already held on the host.
    RUN_ON_REBUILD = False

    # NOTE(nova-stx): page usage changes with every instance of a
    # multi-create request.
    run_filter_once_per_request = False

    def check(self, host_state, spec_obj):
        request = conversions.request_topology(spec_obj)
        if request is None or not any(gc.pagesize for gc in request.cells):
            return None
        host = conversions.host_topology(host_state)
        if host is None:
            return ('no host NUMA topology while the instance requests '
                    'a page size')
        return precheck.check_pages(host, request)
