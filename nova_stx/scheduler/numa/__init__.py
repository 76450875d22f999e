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

"""Exact, fast NUMA fitting of a guest topology onto a host topology.

``model`` holds plain data, ``from_nova`` the converters from Nova's
objects and ``host_cache`` their reuse across requests; ``cell_fit`` the
per-(host cell, guest cell) rule, ``fit`` the whole-host decision (a
bipartite matching), ``cell_sets`` and ``pci`` the network and PCI NUMA
affinity, ``precheck`` two cheap necessary conditions used by the
hugepage and CPU-pinning filters, and ``nova_fit`` the same fit in the
shape of Nova's ``numa_fit_instance_to_host``.
"""
