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

"""What the lab needs, and why it cannot run when something is missing."""

import importlib.util
import os
import shutil

#: Commands the lab runs, with the Debian package that provides each.
COMMANDS = {
    'libvirtd': 'libvirt-daemon (+ libvirt-daemon-driver-qemu)',
    'qemu-system-x86_64': 'qemu-system-x86',
    'virt-admin': 'libvirt-clients',
    'unshare': 'util-linux',
    'gcc': 'gcc',
    'ip': 'iproute2',
}

NOT_ROOT = ('the real-libvirt lab needs root: it starts privileged libvirtd '
            'daemons in private mount, UTS and network namespaces')


def is_root():
    """Return whether this process runs as root."""
    return os.geteuid() == 0


def missing():
    """Return why the lab cannot run here, beyond not being root.

    :returns: a list of reasons, empty when every prerequisite is present.
    """
    reasons = [f"command '{cmd}' not found (install {pkg})"
               for cmd, pkg in COMMANDS.items() if not shutil.which(cmd)]
    if importlib.util.find_spec('libvirt') is None:
        reasons.append("Python module 'libvirt' not found (pip install "
                       "libvirt-python; it builds against libvirt-dev)")
    return reasons


def why_not():
    """Return one sentence saying why the lab cannot run, or None.

    :returns: None when the lab can run.
    """
    if not is_root():
        return NOT_ROOT
    reasons = missing()
    if reasons:
        return 'the real-libvirt lab cannot run: ' + '; '.join(reasons)
    return None
