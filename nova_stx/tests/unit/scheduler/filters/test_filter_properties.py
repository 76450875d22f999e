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

"""The four filters through Nova's handler, on generated hosts and requests.

Hosts are built from the fleet format, some of them extreme (up to 64
cells, huge memory), then some of their data is broken the way a stale or
foreign object could break it. Requests are the RequestSpecs a boot makes,
some with PCI devices, some with fields left unset as Nova's own unit
tests leave them. The invariant: Nova's handler returns, every rejected
host has a reason, a host whose data is malformed is rejected with a
``malformed host data`` reason wherever a filter reads that data (and
logged once), the other hosts are judged as if it were not there, and
nothing reaches the filters' catch-all or logs a traceback.
"""

import json
import logging

import fixtures
import hypothesis
from hypothesis import strategies as st
from nova import objects
from nova.scheduler import filters as nova_filters

from nova_stx.explain import report
from nova_stx.scheduler.filters import base
from nova_stx.scheduler.filters import cpu_pinning_filter
from nova_stx.scheduler.filters import hugepage_filter
from nova_stx.scheduler.filters import numa_topology_filter
from nova_stx.scheduler.filters import vcpu_model_filter
from nova_stx.scheduler import reasons
from nova_stx.tests.unit import properties
from nova_stx.tests.unit.scheduler import fakes

MALFORMED = 'malformed host data: '

#: Wrong values for the fields of a host NUMA cell, as stored.
BAD_CELL_FIELDS = {
    'id': (1.5, 'x', None, -3, True),
    'memory': (1.5, '4096', True, None, -1),
    'memory_usage': (0.5, '0', None),
    'cpu_usage': (-1, 2.0, False),
    'cpuset': ('abc', [0, 1], {0.5}, {'0'}, 5, None),
    'pcpuset': ('0-3', (0, 1), {True}, {None}, 7),
    'pinned_cpus': ([0], {'1'}, 'x', 3.0),
    'siblings': (['01', '23'], [0, 1], 5, [{0, 'a'}], None, [[0, 1]]),
    'mempages': (5, [5], None, 'x', [None]),
    'socket': ('s', 1.5, -1),
    'network_metadata': (5, 'x'),
}
#: Wrong host-level data: attribute: (values, what reads it).
BAD_HOST_FIELDS = {
    'cpu_info': (('', 'not json', '[' * 50000 + ']' * 50000,
                  json.dumps({'model': 'Haswell', 'features': 5}),
                  json.dumps({'model': 'Haswell', 'features': [1]}),
                  json.dumps({'model': 'Haswell', 'vendor': [1]}),
                  json.dumps({'model': 5}), '[]', '5',
                  '{"model": "Haswell", "x": 1' + '0' * 5000 + '}'),
                 'model'),
    'pci_stats': (({}, [], 'x', 5, {'pools': []}), 'pci'),
    'allocation_candidates': ((5, None, 'x', ()), 'limits'),
    # Candidates without mappings matter only to a PCI request.
    'allocation_candidates ': (([{}], ['x'], [{'mappings': 5}]), 'pci'),
    'cpu_allocation_ratio': ((float('nan'), -1.0, 'x', None), 'limits'),
    'ram_allocation_ratio': ((float('-inf'), '1.5', None), 'limits'),
    'numa_topology': ((5, 'x', object()), 'cells'),
}
#: What each filter reads of the host, by the names above.
READS = {
    'StxVCpuModelFilter': {'model'},
    'StxHugepageFilter': {'cells'},
    'StxCPUPinningFilter': {'cells'},
    'StxNUMATopologyFilter': {'cells', 'limits', 'pci'},
}
MODELS = ('Haswell', 'Skylake-Server-IBRS', 'EPYC-Rome', 'Icelake-Server',
          'Nehalem')


def _cell(index, draw):
    pcpus = draw(st.integers(0, 8))
    shared = draw(st.integers(0, 4))
    threads = draw(st.sampled_from((1, 2)))
    base_cpu = index * 16
    cell = {'pcpus': list(range(base_cpu, base_cpu + pcpus)),
            'cpus': list(range(base_cpu + 8, base_cpu + 8 + shared)),
            'threads': threads,
            'memory_mb': draw(st.sampled_from((0, 1024, 4096, 16384,
                                               2 ** 40)))}
    if draw(st.booleans()) and cell['memory_mb'] >= 4096:
        cell['hugepages'] = {'2M': draw(st.integers(0, 1024)),
                             '1G': draw(st.integers(0, 2))}
    return cell


@st.composite
def requests(draw):
    """``(RequestSpec, reads)``: a boot's RequestSpec and what it reads."""
    nodes = draw(st.sampled_from((None, 1, 1, 2, 4)))
    policy = draw(st.sampled_from((None, 'shared', 'dedicated',
                                   'dedicated')))
    vcpus = draw(st.sampled_from((1, 2, 4, 8)))
    flavor = {}
    if nodes:
        flavor['hw:numa_nodes'] = str(nodes)
        vcpus = max(vcpus, nodes)
        vcpus -= vcpus % nodes
    if policy:
        flavor['hw:cpu_policy'] = policy
    if policy == 'dedicated' and draw(st.booleans()):
        flavor['hw:cpu_thread_policy'] = draw(st.sampled_from(
            ('prefer', 'isolate', 'require')))
    if draw(st.booleans()):
        flavor['hw:mem_page_size'] = draw(st.sampled_from(
            ('small', 'large', 'any', '2MB', '1GB')))
    if draw(st.booleans()):
        flavor['hw:cpu_model'] = draw(st.sampled_from(
            MODELS + ('Passthrough', 'Pentium-9000')))
    ram = 1024 * (nodes or 1) * draw(st.sampled_from((1, 2)))
    model = flavor.pop('hw:cpu_model', None)
    try:
        spec = fakes.spec(vcpus=vcpus, ram_mb=ram, **{
            k.replace(':', '__'): v for k, v in flavor.items()})
    except report.RequestError:
        hypothesis.assume(False)
    if model:
        # NOTE(nova-stx): set after the API would have refused it.
        spec.flavor.extra_specs['hw:cpu_model'] = model
    pci = nodes is not None and draw(st.booleans())
    if pci:
        spec.pci_requests = objects.InstancePCIRequests(requests=[
            objects.InstancePCIRequest(
                count=1, spec=[{'vendor_id': 'v'}], request_id=None,
                numa_policy=draw(st.sampled_from(('required', 'legacy',
                                                  'preferred'))),
                alias_name='a')])
    reads = {'model'} if model in MODELS + ('Passthrough',) else set()
    if spec.numa_topology is not None:
        reads |= {'cells', 'limits'}
        if pci:
            reads.add('pci')
    if draw(st.booleans()):
        # As Nova's own unit tests build them: some fields never set.
        for name in draw(st.sets(st.sampled_from(
                ('image', 'pci_requests', 'ignore_hosts', 'scheduler_hints',
                 'num_instances')))):
            spec.obj_reset_changes([name])
            delattr(spec, name)
        if 'pci_requests' not in spec:
            reads.discard('pci')
    return spec, reads


class Generated:
    """A generated HostState, what was broken and what reads it.

    Its repr names the damage: Nova's ``HostState.__repr__`` itself fails
    on some of it, and Hypothesis prints failing examples.
    """

    def __init__(self, state, broken=None, what='intact'):
        self.state = state
        self.broken = broken
        self.what = what

    def __iter__(self):
        return iter((self.state, self.broken))

    def __repr__(self):
        return '%s with %d cell(s): %s' % (
            self.state.host, self.cells, self.what)

    @property
    def cells(self):
        cells = getattr(self.state.numa_topology, 'cells', None)
        return len(cells) if isinstance(cells, list) else -1


@st.composite
def hosts(draw, pci):
    """``[Generated]``; ``broken`` says what reads the damage."""
    result = []
    for number in range(draw(st.integers(1, 4))):
        # NOTE(nova-stx): 32 and 64 cells with PCI were the combinatorial
        # case of issue 10 class 1; the bounded cell-set search
        # (scheduler/numa/cell_sets.py) answers them in milliseconds.
        count = draw(st.sampled_from((0, 1, 2, 2, 4, 32, 64)))
        state = fakes.host(
            f'h{number}', cells=[_cell(i, draw) for i in range(count)],
            model=draw(st.sampled_from(MODELS)),
            features=draw(st.sampled_from((('vmx',), ('svm', 'avx2'), ()))))
        state.pci_stats = fakes.pci_stats(state) if pci else None
        broken, what = None, 'intact'
        damage = draw(st.sampled_from((None, None, 'cell', 'host')))
        if damage == 'cell' and count:
            cell = state.numa_topology.cells[draw(st.integers(0, count - 1))]
            name = draw(st.sampled_from(sorted(BAD_CELL_FIELDS)))
            value = draw(st.sampled_from(BAD_CELL_FIELDS[name]))
            vars(cell)['_obj_' + name] = value
            broken, what = 'cells', f'cell {cell.id} {name}={value!r}'
        elif damage == 'host':
            name = draw(st.sampled_from(sorted(BAD_HOST_FIELDS)))
            values, broken = BAD_HOST_FIELDS[name]
            value = draw(st.sampled_from(values))
            setattr(state, name.strip(), value)
            what = f'{name.strip()}={value!r}'[:80]
        result.append(Generated(state, broken, what))
    return result


@st.composite
def cases(draw):
    spec, reads = draw(requests())
    return spec, reads, draw(hosts('pci' in reads))


class FilterPropertiesTest(fakes.TestCase):

    def setUp(self):
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(levelname)s %(message)s'))
        self.handler = nova_filters.HostFilterHandler()
        self.filters = [vcpu_model_filter.StxVCpuModelFilter(),
                        hugepage_filter.StxHugepageFilter(),
                        cpu_pinning_filter.StxCPUPinningFilter(),
                        numa_topology_filter.StxNUMATopologyFilter()]

    def _run(self, spec, states):
        if 'instance_uuid' in spec:
            result = self.handler.get_filtered_objects(self.filters, states,
                                                       spec)
            return [h.host for h in result]
        # NOTE(nova-stx): Nova's handler itself reads instance_uuid when
        # no host is left; run the filters as it runs them.
        for filt in self.filters:
            states = filt.filter_all(states, spec)
            if not states:
                break
        return [h.host for h in states]

    def _reasons(self):
        """``{host: [(filter, reason)]}`` of the current pass."""
        found = {}
        for name, items in reasons.rejections().items():
            for host, reason in items:
                found.setdefault(host, []).append((name, reason))
        return found

    def _malformed_warnings(self):
        return [line for line in self.log.output.splitlines()
                if line.startswith('WARNING') and 'malformed' in line]

    @properties.settings(250)
    @hypothesis.given(cases())
    def test_clear_reason_or_valid_result(self, case):
        spec, reads, generated = case
        base.forget_reported_hosts()
        self.log.reset_output()
        states = [state for state, _broken in generated]
        passed = self._run(spec, states)
        rejected = self._reasons()
        self.assertNotIn('Traceback', self.log.output)
        self.assertNotIn('cannot evaluate', self.log.output)
        for state, broken in generated:
            if state.host not in passed:
                self.assertIn(state.host, rejected)
            if broken in reads:
                self.assertNotIn(state.host, passed)
            for name, reason in rejected.get(state.host, ()):
                if broken in READS[name] and broken in reads:
                    self.assertTrue(reason.startswith(MALFORMED),
                                    (name, reason))
        # The next request sees the same data: nothing is logged again.
        warned = self._malformed_warnings()
        again = self._run(spec, states)
        self.assertEqual(warned, self._malformed_warnings())
        self.assertNotIn('Traceback', self.log.output)
        # The others are judged as if the broken hosts were not there.
        clean = {state.host: state for state, broken in generated
                 if broken is None}
        if clean:
            self.assertEqual([h for h in again if h in clean],
                             self._run(spec, list(clean.values())))

    @properties.settings(20)
    @hypothesis.given(requests())
    def test_request_without_uuid_never_escapes(self, request):
        spec, _reads = request
        if 'instance_uuid' in spec:
            spec.obj_reset_changes(['instance_uuid'])
            delattr(spec, 'instance_uuid')
        states = [fakes.host('h0'), fakes.host('h1', model='Nehalem')]
        self._run(spec, states)
        self.assertNotIn('Traceback', self.log.output)
        self.assertNotIn('cannot evaluate', self.log.output)
        for host, reason in self._reasons().items():
            self.assertTrue(reason, host)
