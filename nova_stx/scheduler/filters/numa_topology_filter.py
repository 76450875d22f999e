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

import threading

from nova import objects
from nova.objects import fields
from nova.scheduler import filters

from nova_stx.scheduler.filters import base
from nova_stx.scheduler.filters import conversions
from nova_stx.scheduler.numa import fit
from nova_stx.scheduler.numa import model
from nova_stx.scheduler.numa import pci as numa_pci


_local = threading.local()


def requires_smt(spec_obj):
    """Does the request ask for dedicated CPUs with the ``require`` policy?

    Read once per request (per flavor and image object) and remembered.
    """
    attrs = vars(spec_obj)
    flavor = attrs.get('_obj_flavor')
    image = attrs.get('_obj_image')
    cached = getattr(_local, 'smt', None)
    if cached is not None and cached[0] is spec_obj and (
            cached[1] is flavor and cached[2] is image):
        return cached[3]
    extra_specs = flavor.extra_specs if flavor else {}
    image_props = image.properties if image else {}
    policies = (extra_specs.get('hw:cpu_policy'),
                image_props.get('hw_cpu_policy'))
    thread_policies = (extra_specs.get('hw:cpu_thread_policy'),
                       image_props.get('hw_cpu_thread_policy'))
    required = (fields.CPUAllocationPolicy.DEDICATED in policies and
                fields.CPUThreadAllocationPolicy.REQUIRE in thread_policies)
    _local.smt = (spec_obj, flavor, image, required)
    return required


def thread_policy_reason(host, spec_obj):
    """Upstream's whole-host rule: ``require`` needs an SMT host.

    :param host: the host's :class:`model.Host`.
    :param spec_obj: the RequestSpec.
    :returns: None or the reason.
    """
    if requires_smt(spec_obj) and not host.has_threads:
        return ("host has no SMT (hyperthreads) but the 'require' CPU "
                "thread policy was requested")
    return None


def host_with_policy_check(host_state, spec_obj):
    """Convert the host topology and apply the whole-host SMT rule.

    :returns: ``(host, reason)``: the :class:`model.Host` (or None) and the
        reason the host fails :func:`thread_policy_reason` (or None). When
        the request has no NUMA topology and no ``require`` policy the
        host is not converted: ``(None, None)``.
    """
    if spec_obj.numa_topology is None and not requires_smt(spec_obj):
        return None, None
    host = conversions.host_topology(host_state)
    return host, host and thread_policy_reason(host, spec_obj)


def limits_for(host_state, spec_obj):
    """Build the ``NUMATopologyLimits`` the compute claim will read.

    Hosts with the same ratios share one object within a request; Nova
    only reads it.
    """
    network = vars(spec_obj).get('_obj_network_metadata') or None
    key = (spec_obj, network, host_state.cpu_allocation_ratio,
           host_state.ram_allocation_ratio)
    cached = getattr(_local, 'limits', None)
    if cached is not None and cached[0][0] is spec_obj and (
            cached[0][1] is network and cached[0][2:] == key[2:]):
        return cached[1]
    limits = objects.NUMATopologyLimits(
        cpu_allocation_ratio=host_state.cpu_allocation_ratio,
        ram_allocation_ratio=host_state.ram_allocation_ratio)
    if network:
        limits.network_metadata = network
    _local.limits = (key, limits)
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
        requested = spec_obj.numa_topology
        host, why = host_with_policy_check(host_state, spec_obj)
        if why:
            return why
        if not requested:
            return None
        if host is None:
            return ('no host NUMA topology while the instance requests '
                    'one')
        request = conversions.request_topology(spec_obj)
        pci_requests = spec_obj.pci_requests
        pci_requests = pci_requests.requests if pci_requests else None
        # NOTE(nova-stx): the same ratios limits_for() hands to the claim.
        stx_limits = model.Limits(float(host_state.cpu_allocation_ratio),
                                  float(host_state.ram_allocation_ratio))
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
        host_state.limits['numa_topology'] = limits_for(host_state, spec_obj)
        return None
