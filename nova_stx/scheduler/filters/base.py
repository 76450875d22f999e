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

from nova.scheduler import filters
from oslo_log import log as logging

from nova_stx import conf as stx_conf
from nova_stx.scheduler import reasons

LOG = logging.getLogger(__name__)


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
            return self.check(host_state, spec_obj)
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
