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

"""The common part of the nova-stx host filters: reasons, never raise."""

import threading

from nova.scheduler import filters
from oslo_log import log as logging

from nova_stx import conf as stx_conf
from nova_stx.scheduler.numa import model
from nova_stx.scheduler import reasons
from nova_stx.scheduler import request_fields
from nova_stx.scheduler import vcpu_model

LOG = logging.getLogger(__name__)

_local = threading.local()

#: ``{(filter name, host): reason}`` of the malformed hosts already
#: warned about: a host is warned about again when its reason changes.
_reported = {}


class MalformedHostData(ValueError):
    """Host data other than the NUMA topology or the CPU cannot be read."""


#: The errors that mean the host's data is malformed, not that we failed.
HOST_DATA_ERRORS = (model.MalformedHostTopology, vcpu_model.MalformedCpuInfo,
                    MalformedHostData)


def forget_reported_hosts():
    """Warn again about every malformed host (for tests)."""
    _reported.clear()


class ExplainedHostFilter(filters.BaseHostFilter):
    """A host filter that says why it rejects a host.

    Subclasses implement :meth:`check`, returning None when the host
    passes and the reason otherwise.
    """

    def __init__(self):
        super().__init__()
        # NOTE(nova-stx): options are registered, and checked together,
        # when Nova's scheduler loads a filter, not when it is imported.
        stx_conf.load(stx_conf.CONF)

    def check(self, host_state, spec_obj):
        """Return None when the host passes, else why not.

        :param host_state: a HostState (or an object with its attributes).
        :param spec_obj: the RequestSpec.
        :returns: None or the reason text.
        """
        raise NotImplementedError()

    def reason(self, host_state, spec_obj):
        """Like :meth:`check`, but never raises.

        :returns: None when the host passes, else the reason.
        """
        try:
            why = self.check(host_state, spec_obj)
        except HOST_DATA_ERRORS as exc:
            return self._malformed_host(host_state, exc)
        except model.MalformedRequest as exc:
            return self._malformed_request(spec_obj, exc)
        except Exception as exc:
            # NOTE(nova-stx): an exception here would fail the whole
            # scheduling request (and every other host with it). A host
            # this filter cannot judge is rejected, and the log says why.
            LOG.warning('%(filter)s cannot evaluate %(host)s, rejecting '
                        'it: %(error)s',
                        {'filter': type(self).__name__,
                         'host': reasons.host_name(host_state),
                         'error': exc},
                        exc_info=not isinstance(exc, ValueError))
            return f'cannot evaluate host: {exc}'
        return why

    def _malformed_host(self, host_state, exc):
        why = f'malformed host data: {exc}'
        key = (type(self).__name__, reasons.host_name(host_state))
        # NOTE(nova-stx): the same bad data comes back with every request
        # until the host reports again; warn once, the DEBUG reason line
        # of each rejection says the rest.
        if _reported.get(key) != why:
            _reported[key] = why
            LOG.warning('%(filter)s rejects %(host)s until its data is '
                        'fixed: %(reason)s',
                        {'filter': key[0], 'host': key[1], 'reason': why})
        return why

    def _malformed_request(self, spec_obj, exc):
        why = f'malformed request: {exc}'
        # NOTE(nova-stx): every host gets the same answer; warn once per
        # request (this pass over the hosts), not once per host.
        uuid = request_fields.instance_uuid(spec_obj)
        key = (id(spec_obj), uuid, why)
        if getattr(_local, 'request', None) != key:
            _local.request = key
            LOG.warning('%(filter)s cannot read the request of instance '
                        '%(uuid)s and rejects every host: %(reason)s',
                        {'filter': type(self).__name__, 'reason': why,
                         'uuid': uuid})
        return why

    def host_passes(self, host_state, spec_obj):
        why = self.reason(host_state, spec_obj)
        if why is None:
            return True
        reasons.record(type(self).__name__, host_state, why, spec_obj)
        return False

    def filter_all(self, filter_obj_list, spec_obj):
        name = type(self).__name__
        reasons.start(name, spec_obj)
        objs = list(filter_obj_list)
        passed = [obj for obj in objs if self._filter_one(obj, spec_obj)]
        if objs and not passed:
            # NOTE(nova-stx): Nova's handler stops at the first filter that
            # leaves no host, so the filter that does is the one place that
            # sees every nova-stx rejection of the request.
            reasons.log_summary(
                spec_obj, stx_conf.CONF.nova_stx.rejection_summary_reasons)
        return passed
