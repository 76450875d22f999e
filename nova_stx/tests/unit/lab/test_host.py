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

from oslotest import base

from nova_stx.tests.lab import host as lab_host


class ParseClientIdsTest(base.BaseTestCase):

    def test_parse_client_ids_rows_only(self):
        table = (' Id   Transport   Connected since\n'
                 '--------------------------------------------\n'
                 ' 2    unix        2026-11-24 05:50:20+0000\n'
                 ' 13   unix        2026-11-24 05:50:21+0000\n\n')
        self.assertEqual([2, 13], lab_host.parse_client_ids(table))

    def test_parse_client_ids_none(self):
        self.assertEqual([], lab_host.parse_client_ids(
            ' Id   Transport   Connected since\n-----\n'))
