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

"""Nova's NUMA objects as nova-stx's plain data, converted once.

Three filters read the same host and request NUMA topologies; each host
is converted once per topology object and the request once per request,
however many filters ask.
"""

import threading

from nova_stx import conf as stx_conf
from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import host_cache
from nova_stx.scheduler import request_fields

_local = threading.local()
_HOST_ATTR = '_nova_stx_numa'
_caches = []


def cache():
    """The process's :class:`host_cache.HostCache` (made on first use)."""
    if not _caches:
        stx_conf.register_opts(stx_conf.CONF)
        _caches.append(host_cache.HostCache(
            stx_conf.CONF.nova_stx.numa_host_cache_size))
    return _caches[0]


def host_topology(host_state):
    """Return ``host_state.numa_topology`` as a :class:`model.Host`.

    The result is kept on the HostState with the object it came from;
    Nova replaces that object whenever the host's usage changes. Across
    requests (new HostStates) :func:`cache` reuses the conversion while
    the compute node reports the same values.

    :returns: the Host, or None when the host reports no topology.
    :raises model.MalformedHostTopology: the data cannot be read.
    """
    topology = host_state.numa_topology
    cached = getattr(host_state, _HOST_ATTR, None)
    if cached is not None and cached[0] is topology:
        return cached[1]
    host = cache().host(getattr(host_state, 'uuid', None), topology)
    setattr(host_state, _HOST_ATTR, (topology, host))
    return host


def request_topology(spec_obj):
    """Return the RequestSpec's NUMA request as a :class:`model.Request`.

    :returns: the Request, or None when no NUMA topology is requested.
    :raises model.MalformedRequest: the request cannot be read.
    """
    numa = request_fields.field(spec_obj, 'numa_topology')
    network = request_fields.field(spec_obj, 'network_metadata')
    cached = getattr(_local, 'request', None)
    if cached is not None and cached[0] is numa and cached[1] is network:
        return cached[2]
    request = from_nova.request_from_nova(numa, network)
    _local.request = (numa, network, request)
    return request
