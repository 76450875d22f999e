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

"""``nova-compute-stx`` registers the alias, then runs Nova's command."""

import subprocess
import sys
import textwrap

from oslotest import base


# NOTE(nova-stx): a fresh interpreter, because Nova's compute command
# switches the process to native threading, which a test runner that has
# imported Nova's eventlet-based test fixtures cannot allow.
SCRIPT = textwrap.dedent('''
    import sys
    import nova.cmd.compute
    from nova_stx.cmd import compute

    def fake_nova_main():
        module = sys.modules.get('nova.virt.nova_stx')
        print(module.__name__, module.LibvirtDriver.__mro__[1].__module__,
              'eventlet' in sys.modules)
        return 0

    nova.cmd.compute.main = fake_nova_main
    sys.exit(compute.main())
''')


class ComputeCommandTest(base.BaseTestCase):

    def test_main_registers_alias_then_runs_nova_compute(self):
        result = subprocess.run(
            [sys.executable, '-c', SCRIPT], capture_output=True, text=True,
            env={'OS_NOVA_DISABLE_EVENTLET_PATCHING': '1',
                 'PATH': '/usr/bin:/bin'}, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('nova_stx.virt.libvirt.driver '
                         'nova.virt.libvirt.driver False',
                         result.stdout.strip())
