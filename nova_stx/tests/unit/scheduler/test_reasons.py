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

import types

from oslotest import base


from nova_stx.scheduler import reasons


def _spec(uuid):
    return types.SimpleNamespace(instance_uuid=uuid)


def _host(name, node=None):
    return types.SimpleNamespace(host=name, nodename=node or name)


class ReasonsTestCase(base.BaseTestCase):

    def test_summarise_top_reasons(self):
        text = reasons.summarise({
            'F1': [('a', 'x'), ('b', 'y'), ('c', 'y')],
            'F2': [],
        }, top=1)
        self.assertEqual('F1 rejected 3 host(s): 2 x "y" (e.g. b); 1 other '
                         'reason(s)', text)

    def test_summarise_nothing(self):
        self.assertEqual('no nova-stx filter rejected a host',
                         reasons.summarise({}, top=3))

    def test_host_name_with_node(self):
        self.assertEqual('h1 (n1)', reasons.host_name(_host('h1', 'n1')))
        self.assertEqual('h1', reasons.host_name(_host('h1')))

    def test_record_without_start_is_not_kept(self):
        spec = _spec('u1')
        reasons.start('F', spec)
        reasons.record('F', _host('a'), 'why', _spec('u2'))
        self.assertEqual({'F': []}, reasons.rejections())

    def test_start_twice_starts_a_new_pass(self):
        spec = _spec('u1')
        reasons.start('F', spec)
        reasons.record('F', _host('a'), 'why', spec)
        reasons.start('G', spec)
        reasons.record('G', _host('b'), 'other', spec)
        self.assertEqual({'F': [('a', 'why')], 'G': [('b', 'other')]},
                         reasons.rejections())
        reasons.start('F', spec)
        self.assertEqual({'F': []}, reasons.rejections())
