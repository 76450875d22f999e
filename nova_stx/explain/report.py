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

"""Run the nova-stx filters over a fleet and say what passes where.

The filters are the real classes the scheduler loads, run over real
``HostState`` objects; the request is a real ``RequestSpec`` whose NUMA
topology comes from Nova's own ``hardware.numa_get_constraints``.
"""

import dataclasses
import sys
import typing as ty

from nova import exception as nova_exception
from nova import objects
from nova.virt import hardware
from oslo_utils import uuidutils

from nova_stx import keys
from nova_stx.scheduler import filters
from nova_stx.explain import fleet

#: The order operators are advised to enable them in: cheapest first.
FILTER_ORDER = ('StxVCpuModelFilter', 'StxHugepageFilter',
                'StxCPUPinningFilter', 'StxNUMATopologyFilter')


class RequestError(ValueError):
    """The flavor or image properties make no valid request."""


@dataclasses.dataclass(frozen=True)
class HostResult:
    """What every filter said about one host."""

    host: str
    #: ``(filter name, reason or None)`` in filter order.
    verdicts: tuple

    @property
    def fits(self):
        return all(reason is None for _name, reason in self.verdicts)


@dataclasses.dataclass(frozen=True)
class Result:
    """The filters' verdicts for every host of a fleet."""

    filters: tuple
    hosts: tuple
    #: Things the user should know (e.g. a property that was ignored).
    notes: tuple = ()

    @property
    def fitting(self):
        return [r.host for r in self.hosts if r.fits]

    def as_dict(self):
        return {
            'filters': list(self.filters),
            'hosts': [{'host': r.host, 'fits': r.fits,
                       'filters': {name: {'passed': reason is None,
                                          'reason': reason}
                                   for name, reason in r.verdicts}}
                      for r in self.hosts],
            'fitting_hosts': self.fitting,
            'notes': list(self.notes),
        }


def filter_classes():
    """Return the nova-stx filter classes in :data:`FILTER_ORDER`."""
    by_name = {cls.__name__: cls for cls in filters.all_filters()}
    return [by_name[name] for name in FILTER_ORDER if name in by_name] + [
        cls for name, cls in sorted(by_name.items())
        if name not in FILTER_ORDER]


def build_request(flavor_properties=None, image_properties=None, vcpus=2,
                  ram_mb=2048):
    """Build the RequestSpec a boot with this flavor and image would make.

    :param flavor_properties: ``{extra spec: value}``.
    :param image_properties: ``{image property: value}``.
    :param vcpus: the flavor's vCPUs.
    :param ram_mb: the flavor's RAM in MiB.
    :returns: ``(RequestSpec, notes)``.
    :raises RequestError: with Nova's or nova-stx's reason.
    """
    objects.register_all()
    flavor_properties = dict(flavor_properties or {})
    image_properties = dict(image_properties or {})
    errors = (keys.validate(flavor_properties, keys.Source.FLAVOR) +
              keys.validate(image_properties, keys.Source.IMAGE))
    if errors:
        raise RequestError('; '.join(str(e) for e in errors))
    if vcpus < 1 or ram_mb < 1:
        raise RequestError('vCPUs and RAM must be at least 1')
    notes = []
    flavor = objects.Flavor(
        name='explain', flavorid='explain', vcpus=vcpus, memory_mb=ram_mb,
        root_gb=0, ephemeral_gb=0, swap=0, extra_specs=flavor_properties)
    try:
        image = objects.ImageMeta.from_dict(
            {'properties': image_properties})
        numa = hardware.numa_get_constraints(flavor, image)
    except (nova_exception.Invalid, ValueError) as exc:
        raise RequestError(str(exc))
    dropped = sorted(set(image_properties) - set(image.properties.fields))
    if dropped:
        notes.append('image properties Nova does not know never reach the '
                     'scheduler, so the filters ignore them here too: ' +
                     ', '.join(dropped))
    spec = objects.RequestSpec(
        flavor=flavor, image=image, numa_topology=numa,
        pci_requests=objects.InstancePCIRequests(requests=[]),
        scheduler_hints={}, ignore_hosts=None, num_instances=1,
        instance_uuid=uuidutils.generate_uuid())
    return spec, tuple(notes)


def run(host_states, spec, filter_cls=None, notes=()):
    """Run every filter on every host, without stopping at a rejection.

    :param host_states: HostState objects.
    :param spec: the RequestSpec.
    :param filter_cls: filter classes, default :func:`filter_classes`.
    :returns: a :class:`Result`.
    """
    instances = [cls() for cls in (filter_cls or filter_classes())]
    rows = []
    for state in host_states:
        rows.append(HostResult(state.host, tuple(
            (type(f).__name__, f.reason(state, spec)) for f in instances)))
    return Result(tuple(type(f).__name__ for f in instances), tuple(rows),
                  tuple(notes))


def _short(name):
    return name.replace('Stx', '', 1).replace('Filter', '')


def format_table(result):
    """Render a Result as a text table plus the reasons.

    :returns: the text, ending with a newline.
    """
    headers = ['HOST'] + [_short(n) for n in result.filters] + ['RESULT']
    rows = [[r.host] + ['pass' if reason is None else 'FAIL'
                        for _n, reason in r.verdicts] +
            ['fits' if r.fits else 'rejected'] for r in result.hosts]
    widths = [max(len(row[i]) for row in [headers] + rows)
              for i in range(len(headers))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths))
             .rstrip() for row in [headers] + rows]
    reasons = [f'  {r.host}: {name}: {reason}'
               for r in result.hosts for name, reason in r.verdicts
               if reason is not None]
    if reasons:
        lines += ['', 'Reasons:'] + reasons
    fitting = ', '.join(result.fitting) or 'none (NoValidHost)'
    lines += ['', f'Hosts that fit: {fitting}']
    lines += [f'Note: {note}' for note in result.notes]
    return '\n'.join(lines) + '\n'


#: The demo's requests: (title, flavor properties, vCPUs, RAM MiB).
DEMO_REQUESTS: ty.Tuple = (
    ('4 pinned vCPUs on 2 NUMA nodes, 2 MiB pages, Haswell-IBRS',
     {'hw:cpu_policy': 'dedicated', 'hw:numa_nodes': '2',
      'hw:mem_page_size': '2MB', keys.CPU_MODEL.flavor: 'Haswell-IBRS'},
     4, 4096),
    ('8 pinned vCPUs with isolated threads and 1 GiB pages',
     {'hw:cpu_policy': 'dedicated', 'hw:cpu_thread_policy': 'isolate',
      'hw:mem_page_size': '1GB'}, 8, 8192),
)


def demo(out=None):
    """Print the decisions of the nova-stx filters on the sample fleet.

    :param out: a text stream, default stdout.
    """
    out = out or sys.stdout
    for title, props, vcpus, ram_mb in DEMO_REQUESTS:
        # NOTE(nova-stx): filters narrow a HostState's allocation
        # candidates, as in the scheduler: fresh host states per request.
        states = [fleet.host_state(h) for h in fleet.sample()]
        spec, notes = build_request(props, None, vcpus, ram_mb)
        result = run(states, spec, notes=notes)
        flags = ' '.join(f'{k}={v}' for k, v in sorted(props.items()))
        out.write(f'== {title}\n   {flags} (vCPUs {vcpus}, RAM '
                  f'{ram_mb} MiB)\n')
        out.write(format_table(result))
        out.write('\n')
