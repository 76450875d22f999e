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

"""The compute nodes Nova's scheduler sees, read from Nova's databases.

The cell mappings come from the API database, the compute nodes and
their services from each cell's database; each node becomes a
``HostState`` filled by Nova's own ``HostState.update``, as the
scheduler's host manager fills it.
"""

from nova import config as nova_config
from nova import context as nova_context
from nova import objects
from nova.scheduler import host_manager
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class LiveFleetError(ValueError):
    """Nova's databases cannot be read; the text says which and why."""


def configure(config_files):
    """Point Nova's database layer at a deployment's nova.conf.

    :param config_files: nova.conf paths, read in order as Nova does.
    :raises LiveFleetError: when no API database is configured.
    """
    argv = ['nova-stx']
    for path in config_files:
        argv += ['--config-file', path]
    nova_config.parse_args(argv, default_config_files=[],
                           init_rpc=False)
    if not nova_config.CONF.api_database.connection:
        raise LiveFleetError(
            f"{', '.join(config_files)} has no [api_database] connection; "
            f"give the nova.conf of a host that runs nova-scheduler or "
            f"nova-conductor")


def host_states(ctxt=None):
    """Return a HostState per compute node of every cell.

    :param ctxt: a request context; default an admin context.
    :returns: ``(states, notes)``: the HostStates, sorted by host and
        node, and texts about nodes the scheduler would not consider.
    :raises LiveFleetError: when a database cannot be read.
    """
    objects.register_all()
    ctxt = ctxt or nova_context.get_admin_context()
    try:
        cells = objects.CellMappingList.get_all(ctxt)
    except Exception as exc:
        raise LiveFleetError(f"cannot read Nova's API database: {exc}")
    states, notes = [], []
    for cell in cells:
        if cell.is_cell0():
            continue
        try:
            with nova_context.target_cell(ctxt, cell) as cctxt:
                nodes = objects.ComputeNodeList.get_all(cctxt)
                services = {s.host: s for s in
                            objects.ServiceList.get_by_binary(
                                cctxt, 'nova-compute',
                                include_disabled=True)}
        except Exception as exc:
            raise LiveFleetError(
                f'cannot read the database of cell {cell.name or cell.uuid}'
                f': {exc}')
        for node in nodes:
            service = services.get(node.host)
            state = host_manager.HostState(
                node.host, node.hypervisor_hostname, cell.uuid)
            state.update(compute=node,
                         service=dict(service) if service else None,
                         aggregates=[], inst_dict={})
            # NOTE(nova-stx): one candidate without mappings, as placement
            # returns for a host without nested providers.
            state.allocation_candidates = [{'mappings': {}}]
            states.append(state)
            if service is None:
                notes.append(f'{node.host}: no nova-compute service record; '
                             f'the scheduler skips this node')
            elif service.disabled or service.forced_down:
                notes.append(f'{node.host}: nova-compute is disabled or '
                             f'forced down; ComputeFilter rejects it')
    states.sort(key=lambda s: (s.host, s.nodename))
    return states, notes
