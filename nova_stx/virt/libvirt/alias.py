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

"""Make the driver loadable as ``compute_driver = nova_stx.LibvirtDriver``.

Nova imports ``nova.virt.<compute_driver>`` and nothing else. Registering
:mod:`nova_stx.virt.libvirt.driver` as the module ``nova.virt.nova_stx``
before Nova loads its driver makes that name resolve, with no file added
to Nova's package and no import hook. ``nova-compute-stx`` does this and
then runs Nova's own ``nova-compute``.
"""

import sys

from nova import virt as nova_virt

from nova_stx.virt.libvirt import driver

#: The module name Nova's loader resolves.
MODULE = 'nova.virt.nova_stx'
#: The ``[DEFAULT] compute_driver`` value operators set.
COMPUTE_DRIVER = 'nova_stx.LibvirtDriver'


def register():
    """Register the alias (idempotent).

    :returns: the driver module.
    """
    sys.modules.setdefault(MODULE, driver)
    # NOTE(nova-stx): also an attribute of the package, as a submodule
    # imported the ordinary way would be.
    nova_virt.nova_stx = sys.modules[MODULE]
    return sys.modules[MODULE]
