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

import json

from oslotest import base


from nova_stx import cpu_models
from nova_stx.scheduler import vcpu_model

KVM = frozenset(('vmx',))


def _host(model, vendor='Intel', features=KVM):
    return vcpu_model.HostCpu(model, vendor, frozenset(features))


class ParseCpuInfoTestCase(base.BaseTestCase):

    def test_parse_cpu_info_json(self):
        host = vcpu_model.parse_cpu_info(json.dumps(
            {'model': 'Haswell', 'vendor': 'Intel',
             'features': ['vmx', 'avx2']}))
        self.assertEqual(
            vcpu_model.HostCpu('Haswell', 'Intel',
                               frozenset(('vmx', 'avx2'))), host)

    def test_parse_cpu_info_dict_without_features(self):
        host = vcpu_model.parse_cpu_info({'model': 'EPYC'})
        self.assertEqual(frozenset(), host.features)
        self.assertEqual('', host.vendor)

    def test_parse_cpu_info_missing(self):
        exc = self.assertRaises(vcpu_model.MalformedCpuInfo,
                                vcpu_model.parse_cpu_info, None)
        self.assertIn('no cpu_info', str(exc))

    def test_parse_cpu_info_not_json(self):
        exc = self.assertRaises(vcpu_model.MalformedCpuInfo,
                                vcpu_model.parse_cpu_info, '{model')
        self.assertIn('not JSON', str(exc))

    def test_parse_cpu_info_no_model(self):
        exc = self.assertRaises(vcpu_model.MalformedCpuInfo,
                                vcpu_model.parse_cpu_info,
                                '{"vendor": "Intel"}')
        self.assertIn('no CPU model', str(exc))

    def test_parse_cpu_info_bad_features(self):
        self.assertRaises(vcpu_model.MalformedCpuInfo,
                          vcpu_model.parse_cpu_info,
                          {'model': 'Haswell', 'features': 'vmx'})

    def test_parse_cpu_info_list(self):
        self.assertRaises(vcpu_model.MalformedCpuInfo,
                          vcpu_model.parse_cpu_info, '[1, 2]')


class RequestedModelTestCase(base.BaseTestCase):

    def test_requested_model_none(self):
        self.assertIsNone(vcpu_model.requested_model(None, None))

    def test_requested_model_flavor_only(self):
        self.assertEqual('Haswell',
                         vcpu_model.requested_model('Haswell', None))

    def test_requested_model_image_only(self):
        self.assertEqual('Haswell',
                         vcpu_model.requested_model(None, 'Haswell'))

    def test_requested_model_same_in_both(self):
        self.assertEqual('Haswell',
                         vcpu_model.requested_model('Haswell', 'Haswell'))

    def test_requested_model_conflict(self):
        exc = self.assertRaises(vcpu_model.ConflictingModels,
                                vcpu_model.requested_model,
                                'Haswell', 'Skylake-Server')
        self.assertIn('Image vCPU model is not permitted to override',
                      str(exc))


class CanonicalModelTestCase(base.BaseTestCase):

    def test_canonical_model_alias(self):
        self.assertEqual('Haswell',
                         vcpu_model.canonical_model('Haswell-noTSX'))

    def test_canonical_model_versioned(self):
        self.assertEqual('SapphireRapids',
                         vcpu_model.canonical_model('SapphireRapids-v2'))

    def test_canonical_model_unknown(self):
        self.assertEqual('SierraForest',
                         vcpu_model.canonical_model('SierraForest'))


class CheckNamedTestCase(base.BaseTestCase):

    def test_check_named_no_model(self):
        self.assertIsNone(vcpu_model.check(None, _host('Conroe')))

    def test_check_named_same_model(self):
        self.assertIsNone(vcpu_model.check('Haswell', _host('Haswell')))

    def test_check_named_newer_host(self):
        self.assertIsNone(
            vcpu_model.check('Nehalem', _host('Skylake-Server')))

    def test_check_named_older_host(self):
        self.assertEqual(
            'Host VCPU model Nehalem required Haswell (host model is '
            'older)',
            vcpu_model.check('Haswell', _host('Nehalem')))

    def test_check_named_starlingx_order_every_pair(self):
        models = cpu_models.STARLINGX_MODELS[1:]
        for gi, guest in enumerate(models):
            for hi, host in enumerate(models):
                reason = vcpu_model.check(guest, _host(host, features=()))
                expected = hi >= gi and (
                    'IBRS' not in guest or 'IBRS' in host)
                self.assertEqual(expected, reason is None,
                                 f'guest {guest} host {host}: {reason}')

    def test_check_named_ibrs_guest_non_ibrs_host(self):
        self.assertEqual(
            'Host VCPU model Skylake-Server required Haswell-IBRS (host '
            'has no IBRS)',
            vcpu_model.check('Haswell-IBRS', _host('Skylake-Server')))

    def test_check_named_ibrs_guest_spec_ctrl_host(self):
        host = _host('Skylake-Server', features=('vmx', 'spec-ctrl'))
        self.assertIsNone(vcpu_model.check('Haswell-IBRS', host))

    def test_check_named_ibrs_guest_newer_generation_host(self):
        self.assertIsNone(vcpu_model.check(
            'Skylake-Server-IBRS', _host('Cascadelake-Server')))

    def test_check_named_ibrs_host_in_list(self):
        # Launchpad 1803280: an -IBRS host must pass older models.
        self.assertIsNone(vcpu_model.check(
            'Haswell', _host('Skylake-Server-IBRS')))

    def test_check_named_alias_host(self):
        self.assertIsNone(vcpu_model.check('Haswell',
                                           _host('Haswell-noTSX')))
        self.assertIsNotNone(
            vcpu_model.check('Broadwell', _host('Haswell-noTSX')))

    def test_check_named_alias_guest(self):
        # A libvirt variant asked for by the guest sits with its twin.
        self.assertIsNone(vcpu_model.check('Haswell-noTSX',
                                           _host('Haswell')))
        self.assertIsNone(vcpu_model.check('Icelake-Client',
                                           _host('SapphireRapids')))
        self.assertIsNotNone(vcpu_model.check('Icelake-Client',
                                              _host('Cascadelake-Server')))

    def test_check_named_other_family(self):
        self.assertEqual(
            'Host VCPU model EPYC-Rome required Haswell (AMD host, Intel '
            'model)',
            vcpu_model.check('Haswell', _host('EPYC-Rome', 'AMD')))

    def test_check_named_amd_order(self):
        self.assertIsNone(vcpu_model.check('EPYC', _host('EPYC-Milan',
                                                         'AMD')))
        self.assertIsNotNone(vcpu_model.check('EPYC-Genoa',
                                              _host('EPYC-Milan', 'AMD')))

    def test_check_named_unknown_guest(self):
        self.assertEqual(
            'Host VCPU model Haswell required Pentium (unknown vCPU model)',
            vcpu_model.check('Pentium', _host('Haswell')))

    def test_check_named_unknown_host_with_features(self):
        host = _host('SierraForest',
                     features=cpu_models.SIGNATURE_FEATURES['Haswell'])
        self.assertIsNone(vcpu_model.check('Haswell', host))

    def test_check_named_unknown_host_missing_features(self):
        host = _host('SierraForest', features=('avx', 'avx2', 'vmx'))
        reason = vcpu_model.check('Skylake-Server', host)
        self.assertIn('Host VCPU model SierraForest required '
                      'Skylake-Server (host lacks features ', reason)
        self.assertIn('avx512f', reason)

    def test_check_named_unknown_host_other_vendor(self):
        host = _host('Dhyana', 'Hygon',
                     features=cpu_models.SIGNATURE_FEATURES['EPYC'])
        self.assertEqual(
            "Host VCPU model Dhyana required EPYC (host vendor 'Hygon' "
            "is not AMD)", vcpu_model.check('EPYC', host))

    def test_check_named_unknown_host_equal_model(self):
        self.assertIsNone(vcpu_model.check('Cooperlake',
                                           _host('Cooperlake', '', ())))

    def test_check_named_generic_host(self):
        host = _host('qemu64', features=('sse2', 'cx16'))
        self.assertIsNotNone(vcpu_model.check('Conroe', host))


class CheckPassthroughTestCase(base.BaseTestCase):

    def test_check_passthrough_kvm_host(self):
        self.assertIsNone(vcpu_model.check('Passthrough',
                                           _host('Haswell')))

    def test_check_passthrough_amd_kvm_host(self):
        self.assertIsNone(vcpu_model.check(
            'Passthrough', _host('EPYC', 'AMD', ('svm',))))

    def test_check_passthrough_unknown_host_model(self):
        # Launchpad 1803280: a model outside the list must not fail.
        self.assertIsNone(vcpu_model.check('Passthrough',
                                           _host('FutureLake-v9')))

    def test_check_passthrough_without_kvm(self):
        self.assertEqual(
            "Host VCPU model Haswell required Passthrough (Passthrough "
            "VCPU Model only available on 'kvm' hosts)",
            vcpu_model.check('Passthrough', _host('Haswell',
                                                  features=())))

    def test_check_passthrough_move_same_host_cpu(self):
        source = _host('Haswell', features=('vmx', 'avx2'))
        self.assertIsNone(vcpu_model.check(
            'Passthrough', _host('Haswell', features=('vmx', 'avx2')),
            source=source, moving=True))

    def test_check_passthrough_move_other_model(self):
        reason = vcpu_model.check('Passthrough', _host('Skylake-Server'),
                                  source=_host('Haswell'), moving=True)
        self.assertEqual('Host VCPU model Skylake-Server required '
                         'Passthrough (source host model Haswell)', reason)

    def test_check_passthrough_move_other_features(self):
        reason = vcpu_model.check(
            'Passthrough', _host('Haswell'),
            source=_host('Haswell', features=('vmx', 'avx512f')),
            moving=True)
        self.assertIn('features differ: avx512f', reason)

    def test_check_passthrough_move_unknown_source(self):
        reason = vcpu_model.check('Passthrough', _host('Haswell'),
                                  moving=True)
        self.assertIn('migrating from unknown host', reason)
