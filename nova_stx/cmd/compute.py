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

"""``nova-compute-stx``: Nova's ``nova-compute`` able to load our driver.

Use it instead of ``nova-compute`` with the same arguments, and set
``[DEFAULT] compute_driver = nova_stx.LibvirtDriver``.
"""

import importlib
import sys

from nova_stx import nova_version


def main():
    """Register the driver alias, then run ``nova-compute``."""
    if '--version' in sys.argv[1:]:
        print(nova_version.versions_text())
        return 0
    # NOTE(nova-stx): Nova's compute command chooses native threading and
    # forbids eventlet as it is imported, so it must be imported first, and
    # only here: importing this module (entry-point checks, tests that
    # already run under eventlet) must not switch the process's mode.
    nova_compute = importlib.import_module('nova.cmd.compute')
    alias = importlib.import_module('nova_stx.virt.libvirt.alias')
    alias.register()
    # NOTE(nova-stx): [nova_stx] exact_numa_fit, once Nova parsed nova.conf.
    importlib.import_module('nova_stx.exact_numa').configure_after_parse(
        nova_compute.config)
    return nova_compute.main()
