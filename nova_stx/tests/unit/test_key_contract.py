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

"""Every key does what it says: the registry's data contract.

:data:`nova_stx.keys.CONSUMERS` names, for each key, the code that acts on
it and what that changes. These tests hold the registry to it: each named
consumer exists, and, run with the key set, produces its effect — a
different guest config, migration plan or filter verdict than without
the key, for at least one valid value. A key that claims an effect no
code produces fails here, as does a key whose only consumer is
validation but whose help does not say so.
"""

import importlib

from nova import exception
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.virt import fake
from nova.virt.libvirt import blockinfo

from nova_stx import keys
from nova_stx.tests.unit.scheduler import fakes
from nova_stx.tests.unit.virt.libvirt import test_guest_config
from nova_stx.virt.libvirt import driver
from nova_stx.virt.libvirt import migration_policy

Effect = keys.Effect
#: Hosts a placement probe asks about: old, new, other vendor, no KVM.
PROBE_HOSTS = (
    dict(model='Conroe'), dict(model='Skylake-Server-IBRS'),
    dict(model='EPYC-Rome', vendor='AMD', features=('svm',)),
    dict(model='qemu64', features=()),
)


def resolve(path):
    """Import ``a.b.C.method`` and return the object it names."""
    parts = path.split('.')
    for split in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module('.'.join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(path)


def candidate_values(key):
    """Valid values worth trying for ``key``, as strings."""
    if key.kind is keys.Kind.BOOLEAN:
        return ['true', 'false']
    if key.kind is keys.Kind.ENUM:
        return list(key.choices)
    values = [key.minimum, key.maximum, key.suggested,
              0 if key.zero_disables else None]
    return [str(v) for v in values if v is not None]


class ContractTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(nova_fixtures.LibvirtFixture())
        # NOTE(nova-stx): whether a host can run a model is not what this
        # contract is about; fake libvirt says every model runs.
        self.stub_out('nova.tests.fixtures.libvirt.Connection.'
                      'compareHypervisorCPU', lambda *args: 2)
        self.flags(virt_type='kvm', group='libvirt')
        self.drvr = driver.LibvirtDriver(fake.FakeVirtAPI(), False)

    # --- probes: does the consumer change its output with the key set? ---

    def _guest_xml(self, method, source, name, value):
        specs, image = {}, {}
        if source is keys.Source.FLAVOR:
            specs[name] = value
        elif source is keys.Source.IMAGE:
            image[name] = value
        instance, image_meta = test_guest_config.make_instance(specs, image)
        disk_info = blockinfo.get_disk_info('kvm', instance, image_meta)
        try:
            guest = method(self.drvr, instance, [], image_meta, disk_info)
        except (exception.ComputeResourcesUnavailable,
                exception.InvalidInput):
            # Acted on, but not applicable here (e.g. a model fake libvirt
            # does not know): not counted either way.
            return None
        # NOTE(nova-stx): Nova's <metadata> lists every extra spec and
        # image property; what counts is what the guest gets.
        guest.metadata = []
        return guest.to_xml()

    def probe_guest(self, consumer, key):
        method = resolve(consumer.code)
        baseline = self._guest_xml(method, None, None, None)
        changed = {}
        for source, name in key.names().items():
            changed[source] = [v for v in candidate_values(key)
                               if self._guest_xml(method, source, name, v)
                               not in (None, baseline)]
        # NOTE(nova-stx): the driver reads every source the key has.
        return all(changed.values()), changed

    def probe_migration(self, consumer, key):
        plan = resolve(consumer.code)

        def effective(sources):
            result = plan(sources.get(keys.Source.FLAVOR, {}),
                          sources.get(keys.Source.IMAGE, {}),
                          sources.get(keys.Source.INSTANCE, {}), 2.0,
                          migration_policy.Settings()).to_dict()
            for bookkeeping in ('sources', 'warnings'):
                result.pop(bookkeeping)
            return result

        baseline = effective({})
        changed = {source: [v for v in candidate_values(key)
                            if effective({source: {name: v}}) != baseline]
                   for source, name in key.names().items()}
        return any(changed.values()), changed

    def probe_placement(self, consumer, key):
        filt = resolve(consumer.code)()

        def verdicts(**flavor):
            spec = fakes.spec(**{k.replace(':', '__'): v
                                 for k, v in flavor.items()})
            return [filt.host_passes(fakes.host(**h), spec)
                    for h in PROBE_HOSTS]

        baseline = verdicts()
        # NOTE(nova-stx): only the flavor reaches Nova 34's scheduler.
        changed = {keys.Source.FLAVOR: [
            v for v in candidate_values(key)
            if verdicts(**{key.flavor: v}) != baseline]}
        return any(changed.values()), changed

    PROBES = {
        Effect.GUEST: probe_guest,
        Effect.MIGRATION: probe_migration,
        Effect.PLACEMENT: probe_placement,
    }

    # --- the contract ---------------------------------------------------

    def test_every_key_names_its_consumers(self):
        ids = {key.id for key in keys.KEYS}
        self.assertEqual(ids, set(keys.CONSUMERS),
                         'keys.CONSUMERS must list exactly the keys of '
                         'keys.KEYS')
        for key in keys.KEYS:
            self.assertNotEqual((), keys.consumers(key), key.id)

    def test_consumers_exist(self):
        for key in keys.KEYS:
            for consumer in keys.consumers(key):
                if consumer.effect is Effect.VALIDATED:
                    self.assertIsNone(consumer.code, key.id)
                    continue
                self.assertTrue(callable(resolve(consumer.code)),
                                f'{key.id}: {consumer.code}')

    def test_every_effect_has_a_probe(self):
        for effect in Effect:
            if effect is not Effect.VALIDATED:
                self.assertIn(effect, self.PROBES, effect)

    def test_consumers_produce_their_effect(self):
        for key in keys.KEYS:
            for consumer in keys.consumers(key):
                if consumer.effect is Effect.VALIDATED:
                    continue
                ok, changed = self.PROBES[consumer.effect](self, consumer,
                                                           key)
                self.assertTrue(
                    ok, f'{key.id} claims a {consumer.effect} effect '
                        f'through {consumer.code}, but setting it changes '
                        f'nothing there (values that did, per source: '
                        f'{changed})')

    def test_validated_only_keys_say_so(self):
        for key in keys.KEYS:
            effects = {c.effect for c in keys.consumers(key)}
            says_so = ('Validated' in key.help and
                       'not act on it' in key.help)
            if effects == {Effect.VALIDATED}:
                self.assertTrue(says_so, f'{key.id} is only validated; '
                                         f'its help must say so')
            else:
                self.assertFalse(says_so, f'{key.id} has consumers; its '
                                          f'help must not say it is only '
                                          f'validated')
                self.assertNotIn(Effect.VALIDATED, effects, key.id)

    def test_guest_effect_is_generated_by_the_driver(self):
        # The consumer named for guest effects is what nova-compute runs.
        for key in keys.KEYS:
            for consumer in keys.consumers(key):
                if consumer.effect is Effect.GUEST:
                    self.assertIs(resolve(consumer.code),
                                  driver.LibvirtDriver._get_guest_config)

    def test_probe_detects_a_key_without_effect(self):
        # The contract can fail: a key nobody reads changes nothing.
        ghost = keys.Key(id='ghost', title='Ghost', help='Does things.',
                         kind=keys.Kind.BOOLEAN,
                         namespace=keys.HPET_ENABLED.namespace,
                         flavor='hw:ghost')
        for effect, probe in self.PROBES.items():
            code = next(c.code for k in keys.KEYS
                        for c in keys.consumers(k) if c.effect is effect)
            ok, _ = probe(self, keys.Consumer(effect, code), ghost)
            self.assertFalse(ok, effect)
