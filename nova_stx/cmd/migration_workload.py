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

"""The simulated guest's options, shared by ``migration-simulate`` and
``migration-plan``, and their bounds.

The bounds keep the work bounded: the simulator polls the ``sla``
controller every 0.5 s of simulated time (about 20 us a poll), so a
forecast is cut at :data:`HORIZON_S` (reported ``running``), the RAM
must cross the link within :data:`MAX_FIRST_COPY_S`, and every number
has a range.
"""

from cliff import columns

from nova_stx.cmd import cli
from nova_stx.cmd import inputs
from nova_stx.cmd import units
from nova_stx import keys
from nova_stx.virt.libvirt import migration_forecast

MIB = 1 << 20
TIB = 1 << 40
RAM = units.Size(MIB, 16 * TIB)
WORKING_SET = units.Size(4096, 16 * TIB)
#: Above any host's memory bandwidth.
DIRTY_RATE = units.Rate(1, 1e12, zero=True)
LINK = units.Link(1e6 / 8, 1e12 / 8)
#: Longest first copy of the RAM over the link nova-stx simulates, s.
MAX_FIRST_COPY_S = 12 * 3600
#: Simulated time after which a migration nothing ended is ``running``.
HORIZON_S = 48 * 3600
SEED = inputs.whole_number(0, 2 ** 32 - 1)
#: The options that describe the guest and its link.
OPTIONS = ('dirty_rate', 'link', 'working_set')


class OptionalColumn(columns.FormattableColumn):
    """A value that may be missing: ``-`` in a table, null in JSON."""

    def human_readable(self):
        return '-' if self._value is None else str(self._value)

    def machine_readable(self):
        return self._value


def add_options(parser, required=True):
    """Add ``--dirty-rate``, ``--link``, ``--working-set`` and ``--seed``.
    """
    parser.add_argument(
        '--dirty-rate', type=DIRTY_RATE, metavar='RATE',
        help='How fast the guest writes to distinct pages, e.g. 1GB/s, '
             '200MiB/s (default 0B/s: idle).')
    parser.add_argument(
        '--link', type=LINK, required=required, metavar='SPEED',
        help='Line rate of the migration link, e.g. 10GbE, 25Gbit/s, '
             f'1GB/s; {migration_forecast.LINK_EFFICIENCY * 100:.0f} %% of '
             f'it carries the migration.')
    parser.add_argument(
        '--working-set', type=WORKING_SET, metavar='SIZE',
        help='The part of the RAM the guest keeps writing to, e.g. 8GiB '
             f'(default {migration_forecast.HOT_SHARE * 100:.0f} %% of the '
             f'RAM).')
    parser.add_argument(
        '--seed', type=SEED, default=0,
        help='Seed of the simulated bandwidth noise (default 0): the same '
             'inputs and seed print the same forecast.')


def from_args(args, ram_bytes, ram_option):
    """Return forecast()'s ``(ram_mb, dirty_mib_s, link_gbit, hot_mib)``.

    :param args: parsed options of :func:`add_options`.
    :param ram_bytes: the guest's RAM, bytes.
    :param ram_option: the option that gave the RAM, for errors.
    :raises cli.UsageError: a RAM above :data:`RAM`'s bound, a working
        set above the RAM, or a first copy of the RAM longer than
        :data:`MAX_FIRST_COPY_S`.
    """
    if ram_bytes > RAM.maximum:
        raise cli.UsageError(
            f'{ram_option} {units.size_text(ram_bytes)}: the simulation '
            f'takes RAM up to {units.size_text(RAM.maximum)}')
    hot = args.working_set
    if hot is not None and hot > ram_bytes:
        raise cli.UsageError(
            f'--working-set {units.size_text(hot)} must be at most the RAM '
            f'({ram_option} {units.size_text(ram_bytes)})')
    first_copy_s = ram_bytes / (args.link *
                                migration_forecast.LINK_EFFICIENCY)
    if first_copy_s > MAX_FIRST_COPY_S:
        raise cli.UsageError(
            f'{ram_option} {units.size_text(ram_bytes)} over --link '
            f'{units.link_text(args.link)} takes {first_copy_s / 3600:.0f} h'
            f' for the first copy alone; the simulation takes RAM that '
            f'crosses the link within {MAX_FIRST_COPY_S // 3600} h')
    return (ram_bytes / MIB, (args.dirty_rate or 0.0) / MIB,
            args.link * 8 / 1e9, None if hot is None else hot / MIB)


def forecast(args, ram_bytes, ram_option, props, settings, names,
             disk_gb=()):
    """Return ``migration_forecast.forecast()`` rows for the options.

    :param args: parsed options of :func:`add_options`.
    :param ram_bytes: the guest's RAM, bytes; ``ram_option`` gave it.
    :param props: ``{Source: {name: value}}``, names already checked.
    :param settings: a ``migration_policy.Settings``.
    :param names: the controllers to simulate.
    :param disk_gb: sizes of block-migrated disks, GiB.
    :raises cli.UsageError: see :func:`from_args`.
    """
    ram_mb, dirty, link, hot = from_args(args, ram_bytes, ram_option)
    return migration_forecast.forecast(
        ram_mb, dirty, link, settings=settings,
        flavor=props[keys.Source.FLAVOR], image=props[keys.Source.IMAGE],
        instance=props[keys.Source.INSTANCE], hot_mib=hot, seed=args.seed,
        horizon_s=HORIZON_S, names=names, disk_gb=disk_gb)
