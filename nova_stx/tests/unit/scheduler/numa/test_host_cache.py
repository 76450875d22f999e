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

"""The cross-request cache reuses a conversion only for identical data."""

import random

import hypothesis
from hypothesis import strategies as st
from nova import objects
from oslotest import base

from nova_stx.scheduler.numa import from_nova
from nova_stx.scheduler.numa import host_cache
from nova_stx.scheduler.numa import model
from nova_stx.tests.unit.scheduler.numa import nova_objects as no
from nova_stx.tests.unit.scheduler.numa import test_fit_exactness as tfe


def _decoded(topology):
    """A fresh copy, as the scheduler decodes it for each request."""
    return objects.NUMATopology.obj_from_db_obj(topology._to_json())


def _mutations(rng, topology):
    """Change one value the conversion reads, in place."""
    cell = rng.choice(topology.cells)
    pool = rng.choice(cell.mempages) if cell.mempages else None
    some = next(iter(cell.pcpuset | cell.cpuset), 0)
    choices = [
        lambda: setattr(cell, 'memory_usage', cell.memory_usage + 1),
        lambda: setattr(cell, 'cpu_usage', cell.cpu_usage + 1),
        lambda: setattr(cell, 'memory', cell.memory + 1),
        lambda: setattr(cell, 'pinned_cpus', cell.pinned_cpus ^ {some}),
        lambda: setattr(cell, 'pcpuset', cell.pcpuset ^ {some}),
        lambda: setattr(cell, 'cpuset', cell.cpuset ^ {some}),
        lambda: setattr(cell, 'siblings', cell.siblings[1:]),
        lambda: setattr(cell, 'socket', (cell.socket or 0) + 1),
        lambda: setattr(cell.network_metadata, 'physnets',
                        cell.network_metadata.physnets ^ {'foo'}),
        lambda: setattr(cell.network_metadata, 'tunneled',
                        not cell.network_metadata.tunneled),
        lambda: setattr(topology, 'cells', topology.cells[1:]),
    ]
    if pool is not None:
        choices += [lambda: setattr(pool, 'used', pool.used + 1),
                    lambda: setattr(pool, 'total', pool.total + 1),
                    lambda: setattr(pool, 'reserved', pool.reserved + 1),
                    lambda: setattr(cell, 'mempages', cell.mempages[::-1])]
    rng.choice(choices)()


class UnchangedTestCase(base.BaseTestCase):

    def test_unchanged_same_data_new_objects(self):
        topology = no.host(no.host_cell(0, 4), no.host_cell(1, 4))
        host = from_nova.host_from_nova(topology)
        self.assertTrue(host_cache.unchanged(_decoded(topology), host))

    def test_unchanged_type_matters(self):
        topology = no.host(no.host_cell(0, 4, memory_usage=1))
        host = from_nova.host_from_nova(topology)
        again = _decoded(topology)
        again.cells[0]._obj_memory_usage = True
        self.assertFalse(host_cache.unchanged(again, host))

    def test_unchanged_two_pools_of_one_size(self):
        cell = no.host_cell(0, 2, mempages=[no.pages(4, 10), no.pages(2048,
                                                                      1)])
        host = from_nova.host_from_nova(no.host(cell))
        cell.mempages = [no.pages(4, 10), no.pages(4, 10)]
        self.assertFalse(host_cache.unchanged(no.host(cell), host))

    @hypothesis.settings(max_examples=300, deadline=None, database=None,
                         derandomize=True)
    @hypothesis.given(st.integers(0, 2 ** 32), st.integers(1, 8),
                      st.booleans())
    def test_unchanged_only_when_conversion_equal(self, seed, cells, mutate):
        rng = random.Random(seed)
        topology = tfe._host_cells(rng, cells, networks=True)
        host = from_nova.host_from_nova(topology)
        again = _decoded(topology)
        if mutate:
            _mutations(rng, again)
        try:
            fresh = from_nova.host_from_nova(again)
        except model.MalformedHostTopology:
            fresh = None
        if host_cache.unchanged(again, host):
            self.assertEqual(fresh, host)
        elif not mutate:
            self.fail('a fresh copy of the same data must be reused')


class HostCacheTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.topology = no.host(no.host_cell(0, 4), no.host_cell(1, 4))

    def test_host_cache_reuses_and_converts_changes(self):
        cache = host_cache.HostCache(10)
        first = cache.host('u1', self.topology)
        self.assertIs(first, cache.host('u1', _decoded(self.topology)))
        self.topology.cells[0].pinned_cpus = {0}
        second = cache.host('u1', self.topology)
        self.assertIsNot(first, second)
        self.assertEqual(frozenset({0}), second.cells[0].pinned)
        self.assertEqual((1, 2), (cache.hits, cache.misses))

    def test_host_cache_drops_least_recently_used(self):
        cache = host_cache.HostCache(2)
        for uuid in ('a', 'b', 'a', 'c'):
            cache.host(uuid, self.topology)
        self.assertEqual(['a', 'c'], list(cache._hosts))

    def test_host_cache_off_or_without_uuid(self):
        for cache, uuid in ((host_cache.HostCache(0), 'a'),
                            (host_cache.HostCache(5), None)):
            cache.host(uuid, self.topology)
            self.assertEqual(0, len(cache))
        self.assertIsNone(host_cache.HostCache(5).host('a', None))

    def test_host_cache_malformed_is_not_kept(self):
        cache = host_cache.HostCache(5)
        twice = no.host(no.host_cell(0, 4), no.host_cell(0, 4))
        self.assertRaises(model.MalformedHostTopology, cache.host, 'a',
                          twice)
        self.assertEqual(0, len(cache))
