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

"""``[nova_stx] exact_numa_fit``: the exact fit inside Nova's services.

Nova's scheduler accounting (``HostState._locked_consume_from_request``)
and compute claims (``Claim._test_numa_topology``) both call
``hardware.numa_fit_instance_to_host`` through the module attribute. When
the option is set, :func:`configure` puts
:func:`nova_fit.numa_fit_instance_to_host` there and wraps the claim test
so that a failed claim says why. When it is not set, nothing is touched.

It runs at service start: from :func:`nova_stx.scheduler.filters.
all_filters` in ``nova-scheduler`` and right after the configuration is
parsed in ``nova-compute-stx``. Before replacing anything it checks that
Nova still has the functions and signatures this was written against, and
raises :class:`NovaChanged` (the service does not start) if not.
"""

import functools
import inspect

from oslo_log import log as logging

from nova_stx import conf as stx_conf
from nova_stx.scheduler.numa import nova_fit

LOG = logging.getLogger(__name__)

#: Parameters of what we replace, call or wrap, as in Nova 34.
EXPECTED = {
    'hardware.numa_fit_instance_to_host': (
        'host_topology', 'instance_topology', 'provider_mapping',
        'limits=None', 'pci_requests=None', 'pci_stats=None'),
    'hardware._numa_fit_instance_cell': (
        'host_cell', 'instance_cell', 'limits=None', 'cpuset_reserved=0'),
    'claims.Claim._test_numa_topology': ('self', 'compute_node', 'limit'),
    'stats.PciDeviceStats.apply_requests': (
        'self', 'requests', 'provider_mapping', 'numa_cells=None'),
}
#: Code that must look ``hardware.numa_fit_instance_to_host`` up at call
#: time for the replacement to be seen.
CALLERS = ('host_manager.HostState._locked_consume_from_request',
           'claims.Claim._test_numa_topology')


class NovaChanged(RuntimeError):
    """Nova's code is not what the exact fit was written against."""


_installed = {}


def _modules():
    from nova.compute import claims
    from nova.pci import stats
    from nova.scheduler import host_manager
    from nova.virt import hardware
    return {'claims': claims, 'hardware': hardware,
            'host_manager': host_manager, 'stats': stats}


def _lookup(modules, dotted):
    module, *names = dotted.split('.')
    obj = modules[module]
    for name in names:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return _installed.get(dotted, obj)


def _params(func):
    return tuple(
        name if p.default is inspect.Parameter.empty else
        '%s=%r' % (name, p.default)
        for name, p in inspect.signature(func).parameters.items())


def check_nova(modules=None):
    """Raise :class:`NovaChanged` unless Nova is as expected.

    :returns: the list of problems checked (empty when all is well)
    """
    modules = modules or _modules()
    problems = []
    for dotted, params in EXPECTED.items():
        func = _lookup(modules, dotted)
        if func is None:
            problems.append('%s is gone' % dotted)
        elif _params(func) != params:
            problems.append('%s%r is now %s%r' % (
                dotted, params, dotted, _params(func)))
    for dotted in CALLERS:
        func = _lookup(modules, dotted)
        names = getattr(getattr(func, '__code__', None), 'co_names', ())
        if not {'hardware', 'numa_fit_instance_to_host'} <= set(names):
            problems.append('%s no longer calls '
                            'hardware.numa_fit_instance_to_host' % dotted)
    if problems:
        raise NovaChanged(
            '[nova_stx] exact_numa_fit is set but Nova changed: %s. '
            'Unset it or use a nova-stx release made for this Nova.' %
            '; '.join(problems))
    return problems


def _wrap_claim_test(original):
    @functools.wraps(original)
    def _test_numa_topology(self, compute_node, limit):
        text = original(self, compute_node, limit)
        reason = nova_fit.last_reason()
        if text is not None and reason:
            # NOTE(nova-stx): the same reason the filter gives, after
            # Nova's own sentence.
            text = '%s: %s' % (text, reason)
        return text
    return _test_numa_topology


def install():
    """Check Nova, then put the exact fit in place (idempotent)."""
    modules = _modules()
    check_nova(modules)
    if _installed:
        return
    hardware, claim = modules['hardware'], modules['claims'].Claim
    _installed['hardware.numa_fit_instance_to_host'] = (
        hardware.numa_fit_instance_to_host)
    _installed['claims.Claim._test_numa_topology'] = (
        claim._test_numa_topology)
    hardware.numa_fit_instance_to_host = nova_fit.numa_fit_instance_to_host
    claim._test_numa_topology = _wrap_claim_test(claim._test_numa_topology)
    LOG.info('[nova_stx] exact_numa_fit: Nova\'s NUMA fit in scheduler '
             'accounting and compute claims is the exact nova-stx fit')


def uninstall():
    """Put Nova's own functions back (for tests)."""
    if not _installed:
        return
    modules = _modules()
    modules['hardware'].numa_fit_instance_to_host = _installed.pop(
        'hardware.numa_fit_instance_to_host')
    modules['claims'].Claim._test_numa_topology = _installed.pop(
        'claims.Claim._test_numa_topology')


def installed():
    return bool(_installed)


def configure(conf=None):
    """Install the exact fit if ``[nova_stx] exact_numa_fit`` is set.

    :param conf: the service's configuration (default the global one)
    :returns: whether it is installed
    :raises NovaChanged: the option is set and Nova changed
    """
    conf = stx_conf.CONF if conf is None else conf
    # NOTE(nova-stx): before any filter is built (which loads the options).
    stx_conf.register_opts(conf)
    if conf.nova_stx.exact_numa_fit:
        install()
    return installed()


def configure_after_parse(config_module, conf=None):
    """Run :func:`configure` right after ``config_module.parse_args``.

    For ``nova-compute-stx``: Nova's command parses the configuration
    itself, then starts the service.
    """
    original = config_module.parse_args

    @functools.wraps(original)
    def parse_args(*args, **kwargs):
        result = original(*args, **kwargs)
        configure(conf)
        return result

    config_module.parse_args = parse_args
