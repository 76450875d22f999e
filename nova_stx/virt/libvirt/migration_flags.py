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

"""Per-instance auto-converge and tunnelling, decided on plain integers.

Nova computes the migration flags once per host. :func:`adjust` applies a
:class:`~nova_stx.virt.libvirt.migration_policy.MigrationPlan`'s
per-instance choices to them, only where libvirt allows the combination
and Nova's earlier decisions (disk list, migration URI) stay valid.
"""

import dataclasses

from nova_stx import keys


@dataclasses.dataclass(frozen=True)
class FlagBits:
    """The libvirt ``VIR_MIGRATE_*`` bits the decision needs."""

    auto_converge: int
    tunnelled: int
    post_copy: int
    tls: int
    parallel: int
    non_shared_inc: int

    @classmethod
    def from_libvirt(cls, libvirt):
        """Read the bits from the libvirt module (real or fake)."""
        return cls(auto_converge=libvirt.VIR_MIGRATE_AUTO_CONVERGE,
                   tunnelled=libvirt.VIR_MIGRATE_TUNNELLED,
                   post_copy=libvirt.VIR_MIGRATE_POSTCOPY,
                   tls=libvirt.VIR_MIGRATE_TLS,
                   parallel=libvirt.VIR_MIGRATE_PARALLEL,
                   non_shared_inc=libvirt.VIR_MIGRATE_NON_SHARED_INC)


@dataclasses.dataclass(frozen=True)
class FlagDecision:
    """Flags to migrate with, and why a request was not applied."""

    flags: int
    #: True when the migration URI Nova chose must be dropped (tunnelled).
    drop_migrate_uri: bool = False
    notes: tuple[str, ...] = ()


def _name(key):
    return key.flavor


def adjust(flags, auto_converge, tunnelled, bits, migrate_disks=()):
    """Apply per-instance auto-converge and tunnelling to ``flags``.

    :param flags: the host's flags for this migration.
    :param auto_converge: True, False or None (keep the host's choice).
    :param tunnelled: True, False or None (keep the host's choice).
    :param bits: a :class:`FlagBits`.
    :param migrate_disks: the disks Nova asked libvirt to copy.
    :returns: a :class:`FlagDecision`.
    """
    notes = []
    drop_uri = False
    if auto_converge is True:
        if flags & bits.post_copy:
            # NOTE(nova-stx): Nova never combines the two (post-copy wins);
            # neither do we.
            notes.append(f'{_name(keys.LIVE_MIGRATION_AUTO_CONVERGE)}=true '
                         f'not applied: post-copy is permitted on this '
                         f'host.')
        else:
            flags |= bits.auto_converge
    elif auto_converge is False:
        flags &= ~bits.auto_converge

    tunnel_name = _name(keys.LIVE_MIGRATION_TUNNEL)
    if tunnelled is True and not flags & bits.tunnelled:
        blockers = [label for label, bit in (('native TLS', bits.tls),
                                             ('post-copy', bits.post_copy),
                                             ('parallel connections',
                                              bits.parallel))
                    if flags & bit]
        if migrate_disks:
            blockers.append('selective block migration')
        if blockers:
            notes.append(f'{tunnel_name}=true not applied: libvirt cannot '
                         f'tunnel with {", ".join(blockers)}.')
        else:
            flags |= bits.tunnelled
            drop_uri = True
    elif tunnelled is False and flags & bits.tunnelled:
        if flags & bits.non_shared_inc:
            # NOTE(nova-stx): Nova empties the disk list of a tunnelled
            # block migration; without tunnelling libvirt would then copy
            # no disk at all.
            notes.append(f'{tunnel_name}=false not applied: this block '
                         f'migration was prepared for tunnelling.')
        else:
            flags &= ~bits.tunnelled
    return FlagDecision(flags, drop_uri, tuple(notes))
