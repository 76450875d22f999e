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

"""Why the nova-stx filters rejected hosts, per scheduling request.

Filters report each rejection here; it is logged at DEBUG at once. Nova's
``HostFilterHandler`` stops at the first filter that leaves no host, so
that filter asks for :func:`log_summary`, which logs one INFO line with
the most frequent reasons of every nova-stx filter that ran for the
request.

Nova runs the filters of one request one after the other in one thread,
so the reasons are kept per thread, for the request being filtered.
"""

import collections
import threading

from oslo_log import log as logging

from nova_stx.scheduler import request_fields

LOG = logging.getLogger(__name__)

_local = threading.local()


class _Request:
    """The rejections of one pass of the filters over the hosts."""

    def __init__(self, key):
        self.key = key
        self.started = set()
        self.rejections = collections.OrderedDict()


def _key(spec_obj):
    return (id(spec_obj), request_fields.instance_uuid(spec_obj))


def host_name(host_state):
    """Return ``host`` or ``host (node)`` for a HostState-like object."""
    host = getattr(host_state, 'host', None) or str(host_state)
    node = getattr(host_state, 'nodename', None)
    return f'{host} ({node})' if node and node != host else host


def start(filter_name, spec_obj):
    """Note that ``filter_name`` starts filtering hosts for ``spec_obj``.

    A filter that starts twice for the same spec means a new pass (the
    next instance of a multi-create request): the old reasons are dropped.
    """
    current = getattr(_local, 'request', None)
    key = _key(spec_obj)
    if current is None or current.key != key or (
            filter_name in current.started):
        current = _Request(key)
        _local.request = current
    current.started.add(filter_name)
    current.rejections.setdefault(filter_name, [])


def record(filter_name, host_state, reason, spec_obj=None):
    """Record and log at DEBUG why a filter rejected a host.

    :param filter_name: the filter's class name.
    :param host_state: the rejected HostState.
    :param reason: the reason, with the numbers.
    :param spec_obj: the RequestSpec, for the instance UUID in the log.
    """
    host = host_name(host_state)
    LOG.debug('%(host)s fails %(filter)s: %(reason)s',
              {'host': host, 'filter': filter_name, 'reason': reason},
              instance_uuid=request_fields.instance_uuid(spec_obj))
    current = getattr(_local, 'request', None)
    if current is not None and current.key == _key(spec_obj):
        current.rejections.setdefault(filter_name, []).append(
            (host, reason))


def rejections():
    """Return ``{filter name: [(host, reason)]}`` of the current pass."""
    current = getattr(_local, 'request', None)
    if current is None:
        return {}
    return {name: list(items) for name, items in current.rejections.items()}


def summarise(rejected, top):
    """Summarise rejections: the ``top`` most frequent reasons per filter.

    :param rejected: ``{filter name: [(host, reason)]}``.
    :param top: how many distinct reasons to keep per filter.
    :returns: one line of text.
    """
    parts = []
    for name, items in rejected.items():
        if not items:
            continue
        counts = collections.Counter(reason for _host, reason in items)
        example = {}
        for host, reason in items:
            example.setdefault(reason, host)
        shown = '; '.join(
            f'{count} x "{reason}" (e.g. {example[reason]})'
            for reason, count in counts.most_common(top))
        more = len(counts) - top
        if more > 0:
            shown += f'; {more} other reason(s)'
        parts.append(f'{name} rejected {len(items)} host(s): {shown}')
    return ' | '.join(parts) if parts else 'no nova-stx filter rejected a host'


def log_summary(spec_obj, top):
    """Log at INFO why the nova-stx filters left no host for a request.

    :param spec_obj: the RequestSpec being scheduled.
    :param top: ``[nova_stx] rejection_summary_reasons``.
    """
    LOG.info('nova-stx filters left no host for instance %(uuid)s: '
             '%(summary)s',
             {'uuid': request_fields.instance_uuid(spec_obj),
              'summary': summarise(rejections(), top)})
