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

"""A two-host libvirt + QEMU lab on one machine.

Two ordinary ``libvirtd`` daemons, each in private mount and UTS
namespaces with its own state directories and host UUID, stand in for two
compute hosts; a tiny TCG guest that dirties memory at a chosen rate gives
their live migrations a known amount of work. The real-libvirt tests and
the demo use it; it needs root.
"""
