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

"""vCPU model names a guest may ask for with ``hw:cpu_model``.

Each family is ordered oldest first: a host whose model stands at or after
the guest's model in the same family can run the guest. The Intel family
starts with StarlingX's list (in StarlingX's order) and continues with the
models newer libvirt releases know. ``Passthrough`` asks for the host CPU
as it is (``host-passthrough``) and belongs to no family.
"""

PASSTHROUGH = 'Passthrough'

#: StarlingX's ordered list, kept verbatim for compatibility.
STARLINGX_MODELS = (
    PASSTHROUGH,
    'Conroe', 'Penryn', 'Nehalem', 'Nehalem-IBRS', 'Westmere',
    'Westmere-IBRS', 'SandyBridge', 'SandyBridge-IBRS', 'IvyBridge',
    'IvyBridge-IBRS', 'Haswell', 'Haswell-IBRS', 'Broadwell-noTSX',
    'Broadwell-noTSX-IBRS', 'Broadwell', 'Broadwell-IBRS',
    'Skylake-Client', 'Skylake-Client-IBRS', 'Skylake-Server',
    'Skylake-Server-IBRS',
)

INTEL_MODELS = STARLINGX_MODELS[1:] + (
    'Cascadelake-Server-noTSX', 'Cascadelake-Server',
    'Icelake-Server-noTSX', 'Icelake-Server',
    'Cooperlake', 'SapphireRapids', 'GraniteRapids',
)

#: Models libvirt reports that are aliases of a model in a family.
#: StarlingX mapped ``Haswell-noTSX`` onto ``Haswell``; the other ``noTSX``
#: client variants sit with their server or TSX twin.
HOST_MODEL_ALIASES = {
    'Haswell-noTSX': 'Haswell',
    'Haswell-noTSX-IBRS': 'Haswell-IBRS',
    'Skylake-Client-noTSX-IBRS': 'Skylake-Client-IBRS',
    'Skylake-Server-noTSX-IBRS': 'Skylake-Server-IBRS',
    'Icelake-Client': 'Icelake-Server',
    'Icelake-Client-noTSX': 'Icelake-Server-noTSX',
}

AMD_MODELS = (
    'Opteron_G1', 'Opteron_G2', 'Opteron_G3', 'Opteron_G4', 'Opteron_G5',
    'EPYC', 'EPYC-IBPB', 'EPYC-Rome', 'EPYC-Milan', 'EPYC-Genoa',
    'EPYC-Turin',
)

FAMILIES = {
    'Intel': INTEL_MODELS,
    'AMD': AMD_MODELS,
}

#: Every value ``hw:cpu_model`` accepts, in a stable order.
SUPPORTED_MODELS = (PASSTHROUGH,) + INTEL_MODELS + AMD_MODELS
