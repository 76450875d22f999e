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

"""Fit the guest's NUMA cells onto the host's: exact and fast.

Same contract toward Nova as upstream's ``NUMATopologyFilter``; the fit
itself is :func:`nova_stx.scheduler.numa.fit.fit_host`, which is pure and
never mutates the request, so the RequestSpec is not cloned per host.
"""

import reprlib
import threading

from nova import objects
from nova.objects import fields
from nova.pci import stats
from nova.scheduler import filters

from nova_stx.scheduler.filters import base
from nova_stx.scheduler.filters import conversions
from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import model
from nova_stx.scheduler.numa import pci as numa_pci
from nova_stx.scheduler import request_fields

_local = threading.local()


def requires_smt(spec_obj):
    """Upstream's whole-host rule applies: dedicated with ``require``."""
    extra_specs = request_fields.extra_specs(spec_obj)
    policies = (extra_specs.get('hw:cpu_policy'),
                request_fields.image_property(spec_obj, 'hw_cpu_policy'))
    thread_policies = (
        extra_specs.get('hw:cpu_thread_policy'),
        request_fields.image_property(spec_obj, 'hw_cpu_thread_policy'))
    return (fields.CPUAllocationPolicy.DEDICATED in policies and
            fields.CPUThreadAllocationPolicy.REQUIRE in thread_policies)


def host_with_policy_check(host_state, spec_obj, requested):
    """Convert the host topology when needed; apply the whole-host SMT rule.

    The host's topology is read only when the request has a NUMA topology
    or the SMT rule applies, as upstream reads it: a request that asks for
    neither is not judged by the host's NUMA data.

    :param requested: whether the RequestSpec has a NUMA topology.
    :returns: ``(host, reason)``: the :class:`model.Host` (or None) and the
        reason the host fails the SMT rule (or None).
    """
    smt = requires_smt(spec_obj)
    if not (requested or smt):
        return None, None
    host = conversions.host_topology(host_state)
    if smt and host and not host.has_threads:
        return host, model.NO_SMT_FOR_REQUIRE
    return host, None


def _ratio(host_state, name):
    value = getattr(host_state, name, None)
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or
            not value >= 0):
        raise base.MalformedHostData(
            f'{name}={reprlib.repr(value)} is not a number >= 0')
    return value


def check_candidates(host_state, pci):
    """Check the allocation candidates (and PCI stats) the fit reads.

    :param pci: whether the request has PCI devices, so that the fit reads
        ``pci_stats`` and each candidate's ``mappings``.
    :raises base.MalformedHostData: they are not what Nova makes.
    """
    candidates = host_state.allocation_candidates
    if not isinstance(candidates, list):
        raise base.MalformedHostData(
            f'allocation_candidates={reprlib.repr(candidates)} is not a '
            f'list')
    if not pci:
        return
    pci_stats = host_state.pci_stats
    if pci_stats is not None and not isinstance(pci_stats,
                                                stats.PciDeviceStats):
        raise base.MalformedHostData(
            f'pci_stats is a {type(pci_stats).__name__}, not a '
            f'PciDeviceStats')
    for index, candidate in enumerate(candidates):
        if not (isinstance(candidate, dict) and
                isinstance(candidate.get('mappings'), dict)):
            raise base.MalformedHostData(
                f'allocation candidate {index} has no mappings: '
                f'{reprlib.repr(candidate)}')


def limits_for(host_state, spec_obj):
    """Build the ``NUMATopologyLimits`` the compute claim will read.

    Hosts with the same ratios share one object within a request (Nova
    only reads it): building one costs more than the rest of the check.

    :raises base.MalformedHostData: an allocation ratio is not a number.
    """
    ratios = (_ratio(host_state, 'cpu_allocation_ratio'),
              _ratio(host_state, 'ram_allocation_ratio'))
    network = request_fields.field(spec_obj, 'network_metadata') or None
    cached = getattr(_local, 'limits', None)
    if cached is not None and cached[0] is spec_obj and (
            cached[1] is network and cached[2] == ratios):
        return cached[3]
    limits = objects.NUMATopologyLimits(cpu_allocation_ratio=ratios[0],
                                        ram_allocation_ratio=ratios[1])
    if network:
        limits.network_metadata = network
    _local.limits = (spec_obj, network, ratios, limits)
    return limits


class StxNUMATopologyFilter(base.ExplainedHostFilter,
                            filters.CandidateFilterMixin):
    """Pass hosts whose NUMA cells can hold the guest's NUMA cells."""

    # NOTE(nova-stx): as upstream, the API refuses a rebuild whose image
    # changes the NUMA constraints, and the instance already holds its
    # resources on the host, so rebuilds are not filtered.
    RUN_ON_REBUILD = False

    # NOTE(nova-stx): usage-dependent; for multi-create Nova consumes each
    # instance from the host state and must re-run the filter.
    run_filter_once_per_request = False

    def check(self, host_state, spec_obj):
        requested = request_fields.field(spec_obj, 'numa_topology')
        pci_requests = request_fields.field(
            request_fields.field(spec_obj, 'pci_requests'), 'requests')
        if requested:
            # NOTE(nova-stx): the host data the fit reads is checked
            # before the host is judged on any of it.
            limits = limits_for(host_state, spec_obj)
            check_candidates(host_state, bool(pci_requests))
        host, why = host_with_policy_check(host_state, spec_obj,
                                           bool(requested))
        if why:
            return why
        if not requested:
            return None
        if host is None:
            return ('no host NUMA topology while the instance requests '
                    'one')
        request = conversions.request_topology(spec_obj)
        stx_limits = from_nova.limits_from_nova(limits)
        verdicts = []

        def candidate_fits(candidate):
            pci = numa_pci.pci_check(
                host_state.pci_stats, pci_requests, candidate['mappings'])
            verdict = fit.fit_host(host, request, stx_limits, pci=pci)
            verdicts.append(verdict)
            return verdict.fits

        if pci_requests:
            good = self.filter_candidates(host_state, candidate_fits)
        else:
            # NOTE(nova-stx): without PCI requests the fit does not depend
            # on the allocation candidate: decide once for all of them.
            verdict = fit.fit_host(host, request, stx_limits)
            verdicts.append(verdict)
            good = self.filter_candidates(host_state,
                                          lambda candidate: verdict.fits)
        if not good:
            return next((v.reason for v in verdicts if v.reason),
                        'no placement allocation candidate of this host '
                        'is left')
        host_state.limits['numa_topology'] = limits
        return None
