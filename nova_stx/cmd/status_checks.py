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

"""What ``nova-stx-status upgrade check`` checks, one function per topic.

Each function takes the parsed configuration and returns
``[(Code, text)]``: the problems found, each text naming the setting and
the fix; empty when all is well.
"""

import difflib
import importlib
import json
import os
import shutil
import sys

from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

from nova_stx import conf as stx_conf
from nova_stx import metadefs

Code = upgradecheck.Code

#: The ``available_filters`` entry that makes nova-stx's filters known.
STX_AVAILABLE = 'nova_stx.scheduler.filters.all_filters'
NOVA_NUMA = 'NUMATopologyFilter'
STX_NUMA = 'StxNUMATopologyFilter'
#: Filters that only pre-check what StxNUMATopologyFilter fits.
STX_PRECHECKS = ('StxHugepageFilter', 'StxCPUPinningFilter')
COMPUTE_DRIVER = 'nova_stx.LibvirtDriver'
NOVA_LIBVIRT_DRIVER = 'libvirt.LibvirtDriver'


def options(conf):
    """``[nova_stx]`` options: each valid, and consistent together."""
    problems = []
    for group, opts in stx_conf.list_opts():
        for opt in opts:
            try:
                getattr(conf[getattr(group, 'name', group)], opt.dest)
            except (cfg.Error, ValueError) as exc:
                problems.append((Code.FAILURE, ' '.join(str(exc).split())))
    if not problems:
        problems += [(Code.FAILURE, text) for text in stx_conf.check(conf)]
    return problems


def _available_classes(entries):
    from nova.scheduler import filters as nova_filters

    handler = nova_filters.HostFilterHandler()
    classes, problems = {}, []
    for entry in entries:
        try:
            for cls in handler.get_matching_classes([entry]):
                classes[cls.__name__] = cls
        except Exception as exc:
            problems.append((Code.FAILURE, (
                f'[filter_scheduler] available_filters entry {entry!r} '
                f'cannot be loaded ({type(exc).__name__}: {exc}): fix or '
                f'remove it.')))
    return classes, problems


def filters(conf):
    """``[filter_scheduler]``: nova-stx filters available and enabled."""
    fs = conf.filter_scheduler
    enabled = list(fs.enabled_filters)
    classes, problems = _available_classes(fs.available_filters)
    missing = [name for name in enabled if name not in classes]
    ours = [name for name in missing if name.startswith('Stx')]
    if ours and STX_AVAILABLE not in fs.available_filters:
        problems.append((Code.FAILURE, (
            f'[filter_scheduler] enabled_filters names {", ".join(ours)}, '
            f'which no available_filters entry provides (the scheduler '
            f'will not start): add "available_filters = {STX_AVAILABLE}" '
            f"next to Nova's own entry.")))
        missing = [name for name in missing if name not in ours]
    for name in missing:
        close = difflib.get_close_matches(name, list(classes), n=1)
        fix = (f'did you mean {close[0]}?' if close else
               'remove it or make it available.')
        problems.append((Code.FAILURE, (
            f'[filter_scheduler] enabled_filters names {name}, which no '
            f'available_filters entry provides (the scheduler will not '
            f'start): {fix}')))
    if NOVA_NUMA in enabled and STX_NUMA in enabled:
        problems.append((Code.FAILURE, (
            f'[filter_scheduler] enabled_filters has both {NOVA_NUMA} and '
            f'{STX_NUMA}: {STX_NUMA} replaces {NOVA_NUMA}; with both, every '
            f'host pays for both fits and must pass both. Remove '
            f'{NOVA_NUMA}.')))
    if list(conf.pci.alias) and 'PciPassthroughFilter' not in enabled:
        problems.append((Code.FAILURE, (
            '[pci] alias is set but [filter_scheduler] enabled_filters '
            'lacks PciPassthroughFilter: guests asking for PCI devices '
            'would land on hosts without them. Keep PciPassthroughFilter '
            'in enabled_filters.')))
    stx_enabled = [n for n in enabled if n.startswith('Stx')]
    if not stx_enabled:
        problems.append((Code.WARNING, (
            '[filter_scheduler] enabled_filters has no nova-stx filter: '
            'hw:cpu_model is not placed and NUMA fitting is upstream\'s. '
            f'Replace {NOVA_NUMA} by StxVCpuModelFilter, StxHugepageFilter, '
            f'StxCPUPinningFilter and {STX_NUMA} (see README.rst).')))
    elif STX_NUMA not in enabled and NOVA_NUMA not in enabled and any(
            n in enabled for n in STX_PRECHECKS):
        problems.append((Code.WARNING, (
            f'[filter_scheduler] enabled_filters has '
            f'{", ".join(n for n in STX_PRECHECKS if n in enabled)} but no '
            f'{STX_NUMA}: they only pre-check; without {STX_NUMA} no NUMA '
            f'fit is made and no NUMA limits reach the compute claim. Add '
            f'{STX_NUMA} after them.')))
    return problems


def compute_driver(conf):
    """``[DEFAULT] compute_driver`` and ``nova-compute-stx`` agree."""
    driver = conf.compute_driver
    if driver == NOVA_LIBVIRT_DRIVER:
        return [(Code.WARNING, (
            f'[DEFAULT] compute_driver is {driver}: per-instance '
            f'live-migration limits (hw:wrs:live_migration_*) are not '
            f'enforced on this host. Set compute_driver = {COMPUTE_DRIVER} '
            f'and start nova-compute-stx instead of nova-compute.'))]
    if driver != COMPUTE_DRIVER:
        return [(Code.WARNING, (
            f'[DEFAULT] compute_driver is {driver!r}: nova-stx\'s driver '
            f'extension needs libvirt; set compute_driver = '
            f'{COMPUTE_DRIVER} on libvirt compute hosts.'))]
    problems = []
    # NOTE(nova-stx): console scripts sit next to the environment's
    # Python, which need not be on PATH (a virtualenv, kolla's image).
    if shutil.which('nova-compute-stx') is None and shutil.which(
            'nova-compute-stx', path=os.path.dirname(sys.executable)) is None:
        problems.append((Code.FAILURE, (
            f'compute_driver = {COMPUTE_DRIVER} loads only under '
            f'nova-compute-stx, which is not on PATH: install nova-stx in '
            f'the environment nova-compute runs from, and start '
            f'nova-compute-stx instead of nova-compute (see '
            f'etc/systemd/nova-compute.service.d/nova-stx.conf).')))
    try:
        importlib.import_module('libvirt')
    except ImportError:
        problems.append((Code.FAILURE, (
            'libvirt-python is not installed, which the libvirt driver '
            "needs: pip install 'nova-stx[libvirt]'.")))
    return problems


def _glance_connection(path):
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt('connection', secret=True)],
                       group='database')
    conf(args=[], project='glance', default_config_files=[path])
    if not conf.database.connection:
        raise ValueError(f'{path} has no [database] connection')
    return conf.database.connection


def loaded_metadefs(connection):
    """Return ``{namespace: {property: schema}}`` from Glance's database."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(connection)
    try:
        with engine.connect() as db:
            namespaces = dict(db.execute(sqlalchemy.text(
                'SELECT id, namespace FROM metadef_namespaces')).all())
            loaded = {name: {} for name in namespaces.values()}
            for ns_id, name, schema in db.execute(sqlalchemy.text(
                    'SELECT namespace_id, name, json_schema FROM '
                    'metadef_properties')):
                if ns_id in namespaces:
                    loaded[namespaces[ns_id]][name] = json.loads(schema)
    finally:
        engine.dispose()
    return loaded


def glance_metadefs(glance_config_file):
    """Glance's database holds the metadefs nova-stx ships, as shipped."""
    try:
        loaded = loaded_metadefs(_glance_connection(glance_config_file))
    except Exception as exc:
        return [(Code.FAILURE, (
            f"cannot read Glance's metadefs through {glance_config_file}: "
            f"{' '.join(str(exc).split())[:300]}"))]
    load = f'glance-manage db load_metadefs --path {metadefs.DIRECTORY}'
    problems = []
    for document in metadefs.build().values():
        name = document['namespace']
        if name not in loaded:
            problems.append((Code.FAILURE, (
                f'Glance has no {name} namespace: run "{load}".')))
        elif loaded[name] != document['properties']:
            problems.append((Code.FAILURE, (
                f"Glance's {name} differs from what this nova-stx ships "
                f'(older or edited): run "{load} --merge --prefer_new".')))
    return problems
