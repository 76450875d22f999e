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

"""Place guests on hosts whose CPU can provide their vCPU model."""

import threading

from nova import context as nova_context
from nova import objects
from oslo_log import log as logging

from nova_stx import cpu_models
from nova_stx import keys
from nova_stx.scheduler.filters import base
from nova_stx.scheduler import request_fields
from nova_stx.scheduler import vcpu_model

LOG = logging.getLogger(__name__)

_local = threading.local()


def requested_model(spec_obj):
    """Return the vCPU model a RequestSpec asks for, or None.

    :raises keys.InvalidValue: for a model we do not know.
    :raises vcpu_model.ConflictingModels: flavor and image disagree.
    """
    flavor = request_fields.extra_specs(spec_obj).get(keys.CPU_MODEL.flavor)
    # NOTE(nova-stx): RequestSpec.image.properties keeps only the fields
    # Nova knows, and Nova 34 has no hw_cpu_model field, so the image
    # property cannot reach the scheduler today. Read it if a later Nova
    # adds the field.
    image = request_fields.image_property(spec_obj, keys.CPU_MODEL.image)
    for source, value in ((keys.Source.FLAVOR, flavor),
                          (keys.Source.IMAGE, image)):
        if value is not None:
            keys.CPU_MODEL.parse(value, source)
    return vcpu_model.requested_model(flavor, image)


def move_source(spec_obj):
    """Return the source host of a move, or None for a new instance.

    Nova seeds ``RequestSpec.ignore_hosts`` with the instance's current
    host for live migration, cold migration and resize (unless resizing to
    the same host is allowed) and evacuation; a boot leaves it empty.
    """
    hosts = request_fields.field(spec_obj, 'ignore_hosts')
    return hosts[0] if hosts else None


def source_cpu(spec_obj, host):
    """Look up the CPU the source host of a move reports, or None.

    :param spec_obj: the RequestSpec (unused; kept for the cache key).
    :param host: the source host's name.
    """
    # NOTE(nova-stx): filters are not handed a request context (only the
    # RequestSpec, whose context is private); reading the compute nodes
    # of the source host is an admin read the scheduler makes anyway, so
    # an admin context of our own is the public way.
    ctxt = nova_context.get_admin_context()
    try:
        mapping = objects.HostMapping.get_by_host(ctxt, host)
        with nova_context.target_cell(ctxt, mapping.cell_mapping) as cctxt:
            nodes = objects.ComputeNodeList.get_all_by_host(cctxt, host)
        return vcpu_model.parse_cpu_info(nodes[0].cpu_info)
    except Exception as exc:
        LOG.warning('Cannot read the CPU of source host %(host)s: '
                    '%(error)s', {'host': host, 'error': exc})
        return None


def cached_source_cpu(spec_obj, host):
    """Like :func:`source_cpu`, looked up once per request.

    Without a named destination every candidate host asks for the same
    source host's CPU.
    """
    cached = getattr(_local, 'source', None)
    if cached is not None and cached[0] is spec_obj and cached[1] == host:
        return cached[2]
    cpu = source_cpu(spec_obj, host)
    _local.source = (spec_obj, host, cpu)
    return cpu


class StxVCpuModelFilter(base.ExplainedHostFilter):
    """Pass hosts whose CPU can provide the requested vCPU model."""

    # NOTE(nova-stx): a rebuild keeps the flavor, and the image model
    # cannot reach the scheduler, so a rebuild never changes the answer
    # for the host the instance already runs on.
    RUN_ON_REBUILD = False

    # NOTE(nova-stx): the answer depends on the host's CPU and the request
    # only, never on usage, so once per multi-create request is enough.
    run_filter_once_per_request = True

    def check(self, host_state, spec_obj):
        try:
            model = requested_model(spec_obj)
        except (keys.InvalidValue, vcpu_model.ConflictingModels) as exc:
            # NOTE(nova-stx): the API validators refuse such values; one
            # that got through (e.g. set before nova-stx was installed)
            # fails every host, with the rule as the reason.
            return str(exc)
        if model is None:
            return None
        host = vcpu_model.parse_cpu_info(host_state.cpu_info)
        source = None
        moving = False
        if model == cpu_models.PASSTHROUGH:
            source_host = move_source(spec_obj)
            moving = source_host is not None
            if moving:
                source = cached_source_cpu(spec_obj, source_host)
        return vcpu_model.check(model, host, source=source, moving=moving)
