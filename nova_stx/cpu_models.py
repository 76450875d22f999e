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

#: libvirt models that stand in for a model of a family, as a host's model
#: and as a guest's. StarlingX mapped ``Haswell-noTSX`` onto ``Haswell``;
#: the other ``noTSX`` client variants sit with their server or TSX twin.
HOST_MODEL_ALIASES = {
    'Haswell-noTSX': 'Haswell',
    'Haswell-noTSX-IBRS': 'Haswell-IBRS',
    'Skylake-Client-noTSX-IBRS': 'Skylake-Client-IBRS',
    'Skylake-Server-noTSX-IBRS': 'Skylake-Server-IBRS',
    'Icelake-Client': 'Icelake-Server',
    'Icelake-Client-noTSX': 'Icelake-Server-noTSX',
}

#: The TSX-free variant libvirt has of a model (``Haswell-noTSX`` for
#: ``Haswell``). Intel disabled TSX (``hle``, ``rtm``) by microcode on
#: many CPUs of these generations, so a host's libvirt may run only the
#: variant. The filter places the two as one model (above); the driver
#: gives a guest that asks for the model the variant when the host cannot
#: run the model itself.
TSX_FREE_VARIANTS = {
    model: variant for variant, model in HOST_MODEL_ALIASES.items()
    if variant.replace('-noTSX', '') == model
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

#: Every value ``hw:cpu_model`` accepts, in a stable order: the families
#: and the libvirt variants that stand in for a family member.
SUPPORTED_MODELS = ((PASSTHROUGH,) + INTEL_MODELS + AMD_MODELS +
                    tuple(HOST_MODEL_ALIASES))

#: libvirt's ``<vendor>`` for the hosts of each family.
FAMILY_VENDORS = {
    'Intel': 'Intel',
    'AMD': 'AMD',
}


def _features(*names):
    return frozenset(names)


_IBRS = _features('spec-ctrl')
_AVX512 = _features('avx512f', 'avx512dq', 'avx512cd', 'avx512bw',
                    'avx512vl')
_INTEL_BASE = {
    'Conroe': _features('ssse3'),
    'Penryn': _features('ssse3', 'sse4.1'),
    'Nehalem': _features('ssse3', 'sse4.1', 'sse4.2', 'popcnt'),
    'Westmere': _features('sse4.2', 'popcnt', 'aes', 'pclmuldq'),
    'SandyBridge': _features('sse4.2', 'aes', 'avx', 'xsave'),
    'IvyBridge': _features('avx', 'f16c', 'rdrand', 'fsgsbase'),
    'Haswell': _features('avx', 'f16c', 'avx2', 'bmi1', 'bmi2', 'fma',
                         'movbe'),
    'Broadwell-noTSX': _features('avx2', 'bmi2', 'fma', 'adx', 'rdseed',
                                 'smap'),
    'Broadwell': _features('avx2', 'bmi2', 'fma', 'adx', 'rdseed',
                           'smap'),
    'Skylake-Client': _features('avx2', 'adx', 'rdseed', 'xsavec',
                                'xgetbv1'),
    'Skylake-Server': _features('avx2', 'adx', 'xsavec', 'clwb') | _AVX512,
    'Cascadelake-Server-noTSX': (_features('clwb', 'avx512vnni') |
                                 _AVX512 | _IBRS),
    'Icelake-Server-noTSX': (_features('avx512vnni', 'avx512vbmi', 'gfni',
                                       'vaes', 'vpclmulqdq') |
                             _AVX512 | _IBRS),
    'Cooperlake': (_features('avx512vnni', 'avx512-bf16') |
                   _AVX512 | _IBRS),
    'SapphireRapids': (_features('avx512vnni', 'avx512-bf16', 'gfni',
                                 'vaes', 'amx-tile', 'avx512-fp16') |
                       _AVX512 | _IBRS),
    'GraniteRapids': (_features('avx512-bf16', 'amx-tile', 'avx512-fp16',
                                'amx-fp16') | _AVX512 | _IBRS),
}
_INTEL_BASE['Cascadelake-Server'] = _INTEL_BASE['Cascadelake-Server-noTSX']
_INTEL_BASE['Icelake-Server'] = _INTEL_BASE['Icelake-Server-noTSX']

_AMD = {
    'Opteron_G1': _features('sse2'),
    'Opteron_G2': _features('sse2', 'cx16'),
    'Opteron_G3': _features('cx16', 'sse4a', 'abm'),
    'Opteron_G4': _features('sse4a', 'avx', 'aes', 'xop', 'fma4'),
    'Opteron_G5': _features('sse4a', 'avx', 'xop', 'fma4', 'fma', 'tbm',
                            'f16c'),
    'EPYC': _features('sse4a', 'avx2', 'fma', 'adx', 'rdseed', 'sha-ni'),
    'EPYC-IBPB': _features('sse4a', 'avx2', 'adx', 'sha-ni', 'ibpb'),
    'EPYC-Rome': _features('avx2', 'sha-ni', 'ibpb', 'clwb', 'rdpid'),
    'EPYC-Milan': _features('avx2', 'sha-ni', 'clwb', 'rdpid', 'pku',
                            'vaes', 'vpclmulqdq'),
    'EPYC-Genoa': (_features('sha-ni', 'vaes', 'vpclmulqdq',
                             'avx512-bf16') | _AVX512),
    'EPYC-Turin': (_features('sha-ni', 'vaes', 'avx512-bf16',
                             'avx-vnni', 'avx512-vp2intersect') |
                   _AVX512),
}


def _with_ibrs(base):
    signatures = {}
    for name, features in base.items():
        signatures[name] = features
        if name + '-IBRS' in INTEL_MODELS:
            signatures[name + '-IBRS'] = features | _IBRS
    return signatures


#: A few CPU features (libvirt names) every CPU of a model has; used only
#: to judge a host whose model is outside every family. Nova reports a
#: host's full feature list (libvirt expands it), so a host that can run
#: the model has at least these. Not a complete definition of the model.
SIGNATURE_FEATURES = dict(_with_ibrs(_INTEL_BASE), **_AMD)
