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

"""Per-instance auto-converge and tunnelling on plain integers."""
from oslotest import base


from nova_stx.tests.unit.virt.libvirt import fakes
from nova_stx.virt.libvirt import migration_flags as mf

BITS = mf.FlagBits(auto_converge=1, tunnelled=2, post_copy=4, tls=8,
                   parallel=16, non_shared_inc=32)
LIVE = 1024


class AdjustTest(base.BaseTestCase):

    def test_adjust_none_keeps_host_flags(self):
        decision = mf.adjust(LIVE | BITS.tunnelled, None, None, BITS)
        self.assertEqual(mf.FlagDecision(LIVE | BITS.tunnelled),
                         decision)

    def test_adjust_auto_converge_on_and_off(self):
        self.assertEqual(LIVE | BITS.auto_converge,
                         mf.adjust(LIVE, True, None, BITS).flags)
        self.assertEqual(LIVE, mf.adjust(LIVE | BITS.auto_converge, False,
                                         None, BITS).flags)

    def test_adjust_auto_converge_not_with_post_copy(self):
        decision = mf.adjust(LIVE | BITS.post_copy, True, None, BITS)
        self.assertEqual(LIVE | BITS.post_copy, decision.flags)
        self.assertIn('hw:wrs:live_migration_auto_converge=true not '
                      'applied', decision.notes[0])

    def test_adjust_tunnel_on_drops_migrate_uri(self):
        decision = mf.adjust(LIVE, None, True, BITS)
        self.assertEqual(LIVE | BITS.tunnelled, decision.flags)
        self.assertTrue(decision.drop_migrate_uri)

    def test_adjust_tunnel_on_refused_where_libvirt_cannot(self):
        for bit, label in ((BITS.tls, 'native TLS'),
                           (BITS.post_copy, 'post-copy'),
                           (BITS.parallel, 'parallel connections')):
            decision = mf.adjust(LIVE | bit, None, True, BITS)
            self.assertEqual(LIVE | bit, decision.flags)
            self.assertFalse(decision.drop_migrate_uri)
            self.assertIn(label, decision.notes[0])

    def test_adjust_tunnel_on_refused_for_selected_disks(self):
        decision = mf.adjust(LIVE | BITS.non_shared_inc, None, True, BITS,
                             migrate_disks=['vda'])
        self.assertFalse(decision.flags & BITS.tunnelled)
        self.assertIn('selective block migration', decision.notes[0])

    def test_adjust_tunnel_off(self):
        self.assertEqual(LIVE, mf.adjust(LIVE | BITS.tunnelled, None, False,
                                         BITS).flags)

    def test_adjust_tunnel_off_refused_for_block_migration(self):
        flags = LIVE | BITS.tunnelled | BITS.non_shared_inc
        decision = mf.adjust(flags, None, False, BITS)
        self.assertEqual(flags, decision.flags)
        self.assertIn('block migration', decision.notes[0])

    def test_flag_bits_from_libvirt_module(self):
        bits = mf.FlagBits.from_libvirt(fakes.LIBVIRT)
        self.assertEqual(fakes.LIBVIRT.VIR_MIGRATE_TUNNELLED, bits.tunnelled)
        self.assertEqual(fakes.LIBVIRT.VIR_MIGRATE_POSTCOPY, bits.post_copy)
