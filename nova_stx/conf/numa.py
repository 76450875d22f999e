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

"""Options of nova-stx's exact NUMA fit inside Nova's own services."""

from oslo_config import cfg

from nova_stx.conf import live_migration

OPTS = [
    cfg.BoolOpt(
        'exact_numa_fit',
        default=False,
        help="""
Make Nova's own NUMA fit (``nova.virt.hardware.numa_fit_instance_to_host``)
exact in this service.

Nova calls that function in the scheduler, to account for each selected
host before the next instance of a multi-instance request, and on the
compute node, to claim (boot, and the destination of live migration,
resize and evacuation). Upstream's version searches every ordered choice
of host cells (minutes for 16 host cells and 8 guest NUMA nodes) and,
through a cache bug, refuses about 0.3% of hosts that fit and accepts a
few pinnings that do not (see the nova-stx NUMA fit admin guide). When
enabled, the host cells are chosen the way the nova-stx filters decide (a
matching, milliseconds) and each guest cell is pinned by Nova's own
per-cell code, so the result is an ``InstanceNUMATopology`` Nova itself
could produce; a failed claim names the same reason the filter gives.

Takes effect in ``nova-scheduler`` when ``[filter_scheduler]
available_filters`` lists ``nova_stx.scheduler.filters.all_filters``, and
on compute nodes run with ``nova-compute-stx``; plain ``nova-compute``
ignores it. Set it on the scheduler and on every compute node. The
service refuses to start when Nova's functions no longer have the
signatures nova-stx was built against.

Related options:

* ``[compute] packing_host_numa_cells_allocation_strategy`` (honoured)
* ``[filter_scheduler] available_filters``
"""),
    cfg.IntOpt(
        'numa_host_cache_size',
        default=20000,
        min=0,
        help="""
How many compute nodes' converted NUMA topologies nova-scheduler keeps
between requests, least recently used dropped first. 0 disables it.

Nova builds every host's state anew for each request; the nova-stx
filters reuse a host's converted topology while every value Nova reports
for it is unchanged (compared on each use, so decisions never come from
stale data). About 9 KiB per host of 1 to 8 cells; set it above the
number of compute nodes. Read when the scheduler first filters.

Related options:

* ``exact_numa_fit``
"""),
]


def register_opts(conf):
    conf.register_group(live_migration.GROUP)
    conf.register_opts(OPTS, group=live_migration.GROUP)


def list_opts():
    return [(live_migration.GROUP, OPTS)]
