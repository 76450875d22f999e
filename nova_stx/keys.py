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

"""The one registry of every key nova-stx owns or reads.

Each :class:`Key` says how the key is spelt in each source (flavor extra
spec, image property, instance metadata), its type, unit, range, default,
precedence and help. The Nova API validators, the Glance metadefs, the
parsing done by the filters and the driver, the CLI and the docs all derive
from :data:`KEYS`; nothing else lists key names.
"""

import dataclasses
import enum
import typing as ty

from nova_stx import cpu_models


class Source(str, enum.Enum):
    """Where a value can be set."""

    FLAVOR = 'flavor'
    IMAGE = 'image'
    INSTANCE = 'instance'
    CONFIG = 'config'

    def __str__(self):
        return self.value


class Kind(str, enum.Enum):
    INTEGER = 'integer'
    BOOLEAN = 'boolean'
    ENUM = 'enum'


class Rule(str, enum.Enum):
    """How values from several sources combine into one."""

    #: The first source, in order, that sets a valid value wins.
    FIRST_SET = 'first-set'
    #: The smallest non-zero value wins; zero only when every value is zero.
    SMALLEST_NON_ZERO = 'smallest-non-zero'


#: Significant digits an integer value may have when its key has no
#: maximum: the most Python's ``int()`` converts by default. A longer
#: value is refused rather than converted (the conversion is quadratic).
MAX_INTEGER_DIGITS = 4300

#: The whitespace an integer may be surrounded with: ASCII only, where
#: Python's ``int()`` also takes any Unicode space.
_ASCII_SPACE = ' \t\n\r\x0b\x0c'

#: Characters of a value shown in an error text before it is shortened.
_SHOWN = 64


def _escaped(chars, budget):
    """Escape ``chars`` one by one while the result fits ``budget``."""
    out = []
    for char in chars:
        piece = char if char.isprintable() else repr(char)[1:-1]
        budget -= len(piece)
        if budget < 0:
            break
        out.append(piece)
    return out


def shown(value):
    """``value`` as an error text shows it: printable and short.

    Control characters and lone surrogates are escaped; a value longer
    than 64 characters once escaped keeps its start and end and says how
    long it was.
    """
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError:
        # NOTE(nova-stx): an int beyond Python's int-to-text digit limit.
        return (f'an integer of about {int(value.bit_length() * 0.30103)} '
                f'digits')
    whole = _escaped(text[:_SHOWN + 1], _SHOWN)
    if len(whole) == len(text):
        return ''.join(whole)
    half = _SHOWN // 2 - 2
    head = ''.join(_escaped(text[:half], half))
    tail = ''.join(reversed(_escaped(reversed(text[-half:]), half)))
    return f'{head}...{tail} ({len(text)} characters)'


class InvalidValue(ValueError):
    """A value breaks its key's rule; the text names key, value and rule."""

    def __init__(self, name, value, rule):
        self.name = name
        self.value = value
        self.rule = rule
        super().__init__(f"{name} {rule}; got '{shown(value)}'.")


def integer_digits(value):
    """Split an integer written as nova-stx reads integers.

    The rule: optional surrounding ASCII whitespace, an optional ``+`` or
    ``-``, then ASCII digits only, as Nova's integer extra-spec validators
    and StarlingX accept ordinary decimal integers. Underscores, other
    Unicode digits or spaces, decimals and exponents are refused.

    :param value: a str, or an int (not a bool).
    :returns: ``(negative, digits)`` with leading zeros removed (``''`` for
        zero), or None when ``value`` is not an integer so written.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value < 0, abs(value)
    if not isinstance(value, str):
        return None
    text = value.strip(_ASCII_SPACE)
    negative = text[:1] == '-'
    if text[:1] in ('+', '-'):
        text = text[1:]
    if not (text.isascii() and text.isdigit()):
        return None
    return negative, text.lstrip('0')


@dataclasses.dataclass(frozen=True)
class Namespace:
    """A Glance metadef namespace that groups keys of one topic."""

    name: str
    display_name: str
    description: str


@dataclasses.dataclass(frozen=True)
class Precedence:
    rule: Rule
    order: tuple[Source, ...]

    def describe(self):
        names = ', '.join(str(s) for s in self.order)
        if self.rule is Rule.FIRST_SET:
            return f'first set of: {names}'
        return (f'smallest non-zero of: {names}; 0 only if every value '
                f'set is 0')


@dataclasses.dataclass(frozen=True)
class Key:
    """One setting and its spelling, type and rules in every source."""

    id: str
    title: str
    help: str
    kind: Kind
    namespace: Namespace
    flavor: ty.Optional[str] = None
    image: ty.Optional[str] = None
    instance: ty.Optional[str] = None
    unit: ty.Optional[str] = None
    minimum: ty.Optional[int] = None
    maximum: ty.Optional[int] = None
    #: 0 is valid outside [minimum, maximum] and means "disabled".
    zero_disables: bool = False
    choices: tuple[str, ...] = ()
    #: What applies when no source sets the key (text, for docs).
    default: ty.Optional[str] = None
    #: The value offered when a user adds the key (Glance metadefs).
    suggested: ty.Any = None
    precedence: ty.Optional[Precedence] = None
    #: Whether an image may set a value that differs from the flavor's.
    image_may_differ: bool = True
    #: Nova's own property for the same setting, which this key overrides.
    overrides_nova: ty.Optional[str] = None

    def names(self):
        """Return ``{source: name}`` for every source that has the key."""
        return {s: n for s, n in ((Source.FLAVOR, self.flavor),
                                  (Source.IMAGE, self.image),
                                  (Source.INSTANCE, self.instance)) if n}

    def name_in(self, source):
        return self.names().get(Source(source))

    @property
    def rule_text(self):
        """The rule a value must meet, phrased as StarlingX phrased it."""
        if self.kind is Kind.BOOLEAN:
            return "must be 'true' or 'false'"
        if self.kind is Kind.ENUM:
            return 'must be one of: ' + ', '.join(self.choices)
        if self.zero_disables:
            return (f'must be 0 or in the range {self.minimum} to '
                    f'{self.maximum}')
        if self.minimum is not None and self.maximum is not None:
            return f'must be in the range {self.minimum} to {self.maximum}'
        if self.minimum is not None:
            return f'must be greater than or equal to {self.minimum}'
        return 'must be an integer'

    def parse(self, value, source=Source.FLAVOR):
        """Return ``value`` as its typed value, or raise InvalidValue.

        :param value: the raw value (a string, as Nova and Glance keep them).
        :param source: which source it came from; only names the key.
        :returns: an int, a bool or a str.
        """
        name = self.name_in(source) or self.id
        if self.kind is Kind.INTEGER:
            return self._parse_integer(name, value)
        if isinstance(value, bool) and self.kind is Kind.BOOLEAN:
            return value
        text = value if isinstance(value, str) else shown(value)
        if self.kind is Kind.BOOLEAN:
            if text.lower() not in ('true', 'false'):
                raise InvalidValue(name, value, self.rule_text)
            return text.lower() == 'true'
        if text not in self.choices:
            raise InvalidValue(name, value, self.rule_text)
        return text

    def _parse_integer(self, name, value):
        split = integer_digits(value)
        if split is None:
            raise InvalidValue(name, value, 'must be an integer')
        negative, digits = split
        if isinstance(digits, int):
            number = -digits if negative else digits
        else:
            bound = self.minimum if negative else self.maximum
            # NOTE(nova-stx): never convert more digits than a bound has:
            # a longer number is outside it, and int() refuses (or takes
            # quadratic time over) very long texts.
            limit = (MAX_INTEGER_DIGITS if bound is None
                     else len(str(abs(bound))) + 1)
            if len(digits) > limit:
                if bound is None:
                    raise InvalidValue(
                        name, value, f'must be an integer of at most '
                        f'{MAX_INTEGER_DIGITS} digits')
                raise InvalidValue(name, value, self.rule_text)
            number = int(digits or '0')
            number = -number if negative else number
        if self.zero_disables and number == 0:
            return 0
        if ((self.minimum is not None and number < self.minimum) or
                (self.maximum is not None and number > self.maximum)):
            raise InvalidValue(name, value, self.rule_text)
        return number


@dataclasses.dataclass(frozen=True)
class Resolution:
    """The effective value of a key and where it came from."""

    value: ty.Any
    source: ty.Optional[Source]
    #: Values that were set but broke the key's rule, and were skipped.
    ignored: tuple[InvalidValue, ...] = ()


def resolve(key, raw, config_value=None):
    """Combine the values set for ``key`` into the one that applies.

    Invalid values are never used: they are skipped and returned in
    ``ignored`` for the caller to log.

    :param key: a :class:`Key` with a precedence.
    :param raw: ``{Source: raw value}`` for the sources that set the key.
    :param config_value: the operator's value, used when no source wins.
    :returns: a :class:`Resolution`.
    """
    valid = {}
    ignored = []
    for source in key.precedence.order:
        if raw.get(source) is None:
            continue
        try:
            valid[source] = key.parse(raw[source], source)
        except InvalidValue as exc:
            ignored.append(exc)
    ignored = tuple(ignored)
    if key.precedence.rule is Rule.FIRST_SET:
        for source in key.precedence.order:
            if source in valid:
                return Resolution(valid[source], source, ignored)
    elif valid:
        non_zero = [(v, s) for s, v in valid.items() if v != 0]
        if not non_zero:
            first = next(iter(valid))
            return Resolution(0, first, ignored)
        value, source = min(non_zero, key=lambda vs: vs[0])
        return Resolution(value, source, ignored)
    return Resolution(config_value, Source.CONFIG, ignored)


LIVE_MIGRATION = Namespace(
    'STX::Compute::LiveMigration', 'Live Migration Limits',
    'Per-instance limits for libvirt live migration, honoured by the '
    'nova-stx libvirt driver extension: the longest pause the guest '
    'tolerates at switch-over and the time after which the migration is '
    'ended.')
LIVE_MIGRATION_FLAGS = Namespace(
    'STX::Compute::LiveMigrationFlags', 'Live Migration Options',
    'Per-instance libvirt live-migration options, honoured by the nova-stx '
    'libvirt driver extension. Instance metadata overrides the flavor.')
VCPU_MODEL = Namespace(
    'STX::Compute::VCPUModel', 'Virtual CPU Model',
    'The virtual CPU model the guest sees. The nova-stx vCPU model filter '
    'places the guest on hosts whose CPU can provide it.')
HPET = Namespace(
    'STX::Compute::HPET', 'High Precision Event Timer',
    'Whether the guest gets a High Precision Event Timer.')
AUTO_RECOVERY = Namespace(
    'STX::Compute::AutoRecovery', 'Instance Auto Recovery',
    'Whether a failed instance is recovered automatically.')

LIVE_MIGRATION_MAX_DOWNTIME = Key(
    id='live_migration_max_downtime',
    title='Live migration maximum downtime',
    help=('Longest pause, in milliseconds, the guest may see when a live '
          'migration switches over to the destination. The flavor value '
          'overrides instance metadata, which overrides the image.'),
    kind=Kind.INTEGER, namespace=LIVE_MIGRATION,
    flavor='hw:wrs:live_migration_max_downtime',
    instance='hw:wrs:live_migration_max_downtime',
    image='hw_wrs_live_migration_max_downtime',
    # NOTE(nova-stx): QEMU refuses a downtime-limit above 2000 s
    # (MAX_MIGRATE_DOWNTIME); libvirt passes the value on unchecked.
    unit='ms', minimum=100, maximum=2000000, suggested=500,
    default='[libvirt] live_migration_downtime',
    precedence=Precedence(Rule.FIRST_SET, (
        Source.FLAVOR, Source.INSTANCE, Source.IMAGE)))

LIVE_MIGRATION_TIMEOUT = Key(
    id='live_migration_timeout',
    title='Live migration timeout',
    help=('Seconds after which a live migration that has not completed is '
          'ended (absolute, not per GiB). 0 disables the timeout. When '
          'several sources set it, the smallest non-zero value applies.'),
    kind=Kind.INTEGER, namespace=LIVE_MIGRATION,
    flavor='hw:wrs:live_migration_timeout',
    instance='hw:wrs:live_migration_timeout',
    image='hw_wrs_live_migration_timeout',
    unit='s', minimum=120, maximum=800, zero_disables=True, suggested=180,
    default='[nova_stx] live_migration_timeout',
    precedence=Precedence(Rule.SMALLEST_NON_ZERO, (
        Source.FLAVOR, Source.IMAGE, Source.INSTANCE)))

LIVE_MIGRATION_AUTO_CONVERGE = Key(
    id='live_migration_auto_converge',
    title='Live migration auto-converge',
    help=('Throttle the guest vCPUs when a live migration does not '
          'converge. Instance metadata overrides the flavor.'),
    kind=Kind.BOOLEAN, namespace=LIVE_MIGRATION_FLAGS,
    flavor='hw:wrs:live_migration_auto_converge',
    instance='hw:wrs:live_migration_auto_converge',
    default='[libvirt] live_migration_permit_auto_converge',
    suggested=False,
    precedence=Precedence(Rule.FIRST_SET, (Source.INSTANCE, Source.FLAVOR)))

LIVE_MIGRATION_TUNNEL = Key(
    id='live_migration_tunnel',
    title='Live migration tunnelled',
    help=('Carry the migration data through the libvirtd connection '
          '(tunnelled). Instance metadata overrides the flavor.'),
    kind=Kind.BOOLEAN, namespace=LIVE_MIGRATION_FLAGS,
    flavor='hw:wrs:live_migration_tunnel',
    instance='hw:wrs:live_migration_tunnel',
    default='[libvirt] live_migration_tunnelled', suggested=False,
    precedence=Precedence(Rule.FIRST_SET, (Source.INSTANCE, Source.FLAVOR)))

CPU_MODEL = Key(
    id='cpu_model',
    title='vCPU model',
    help=("CPU model the guest sees. 'Passthrough' gives it the host CPU "
          'as it is (host-passthrough, KVM hosts only); a named model gives '
          "it that model (custom mode, in libvirt's spelling), on a host "
          'whose CPU is that model or a newer one of the same family and '
          'whose libvirt can run it. The image may set it only when the '
          'flavor does not, or to the same value.'),
    kind=Kind.ENUM, namespace=VCPU_MODEL,
    flavor='hw:cpu_model', image='hw_cpu_model',
    choices=cpu_models.SUPPORTED_MODELS,
    default='[libvirt] cpu_mode',
    precedence=Precedence(Rule.FIRST_SET, (Source.FLAVOR, Source.IMAGE)),
    image_may_differ=False)

HPET_ENABLED = Key(
    id='hpet',
    title='HPET',
    help=('Whether an x86 guest has a High Precision Event Timer: true '
          "adds it, false removes it. Overrides Nova's image property "
          'hw_time_hpet. Ignored, with a warning, for guests of other '
          'architectures.'),
    kind=Kind.BOOLEAN, namespace=HPET,
    flavor='hw:hpet', default="Nova's image property hw_time_hpet",
    suggested=False, overrides_nova='hw_time_hpet')

AUTO_RECOVERY_ENABLED = Key(
    id='auto_recovery',
    title='Auto recovery',
    help=('Recover the instance automatically when it fails. Validated for '
          'compatibility with StarlingX flavors and images; stock Nova does '
          'not act on it.'),
    kind=Kind.BOOLEAN, namespace=AUTO_RECOVERY,
    flavor='sw:wrs:auto_recovery', image='sw_wrs_auto_recovery',
    default='true', suggested=True,
    precedence=Precedence(Rule.FIRST_SET, (Source.FLAVOR, Source.IMAGE)))

#: Every key, in documentation order.
KEYS = (
    LIVE_MIGRATION_MAX_DOWNTIME,
    LIVE_MIGRATION_TIMEOUT,
    LIVE_MIGRATION_AUTO_CONVERGE,
    LIVE_MIGRATION_TUNNEL,
    CPU_MODEL,
    HPET_ENABLED,
    AUTO_RECOVERY_ENABLED,
)


def by_name(source):
    """Return ``{name: Key}`` for every key that ``source`` can carry."""
    return {k.name_in(source): k for k in KEYS if k.name_in(source)}


def owned_prefixes():
    """Return the name prefixes only nova-stx keys use (``hw:wrs:`` ...).

    Nova's own ``hw:``/``hw_`` namespaces are not ours.
    """
    prefixes = {name[:-len(k.id)] for k in KEYS
                for name in k.names().values()}
    return tuple(sorted(prefixes - {'hw:', 'hw_'}))


def validate(properties, source):
    """Check every property of ours in ``properties``.

    Properties nova-stx does not own are ignored.

    :param properties: ``{name: raw value}``.
    :param source: the :class:`Source` they were set on.
    :returns: a list of :class:`InvalidValue`, empty when all are valid.
    """
    known = by_name(source)
    errors = []
    for name, value in properties.items():
        if name in known:
            try:
                known[name].parse(value, source)
            except InvalidValue as exc:
                errors.append(exc)
    return errors


class ImageOverridesFlavor(InvalidValue):
    """The image sets a key the flavor set to another value.

    The one statement of the rule of keys with ``image_may_differ=False``
    (the vCPU model), used by the validators, the CLI, the scheduler
    filter and the driver: the text names both keys and both values, in
    StarlingX's words.
    """

    def __init__(self, key, flavor_value, image_value):
        self.key = key
        self.flavor_value = flavor_value
        self.image_value = image_value
        super().__init__(
            key.image, image_value,
            f"must equal the flavor's {key.flavor} '{shown(flavor_value)}' "
            f'(Image {key.title} is not permitted to override '
            f'configuration set against the flavor)')


def image_override(key, flavor_value, image_value):
    """Return the error when the image's value may not stand, else None.

    :param key: a :class:`Key`.
    :param flavor_value: the flavor's value of ``key``, or None.
    :param image_value: the image's value of ``key``, or None.
    :returns: an :class:`ImageOverridesFlavor` when ``key`` forbids the
        image to differ and both are set and differ; else None.
    """
    if (key.image_may_differ or flavor_value is None or
            image_value is None or flavor_value == image_value):
        return None
    return ImageOverridesFlavor(key, flavor_value, image_value)


def check_image_against_flavor(flavor, image):
    """Return errors where the image sets a value the flavor forbids.

    :param flavor: flavor extra specs, ``{name: value}``.
    :param image: image properties, ``{name: value}``.
    :returns: a list of :class:`ImageOverridesFlavor`.
    """
    errors = []
    for key in KEYS:
        if key.flavor and key.image:
            error = image_override(key, flavor.get(key.flavor),
                                   image.get(key.image))
            if error is not None:
                errors.append(error)
    return errors


class Effect(str, enum.Enum):
    """What a key changes."""

    #: The guest itself: the domain XML Nova's libvirt driver generates.
    GUEST = 'guest'
    #: How the guest's live migrations run: the libvirt migration calls.
    MIGRATION = 'migration'
    #: Which hosts may run the guest: a scheduler filter's verdict.
    PLACEMENT = 'placement'
    #: Nothing: the value is only validated (API, Glance, CLI).
    VALIDATED = 'validated'

    def __str__(self):
        return self.value

    @property
    def description(self):
        """What this effect means for a key, as a clause (docs)."""
        return _EFFECT_DESCRIPTIONS[self]


_EFFECT_DESCRIPTIONS = {
    Effect.GUEST: "it changes the domain XML Nova's libvirt driver generates",
    Effect.MIGRATION: "it changes how the guest's live migrations run (the "
                      'libvirt migration calls)',
    Effect.PLACEMENT: 'it changes which hosts may run the guest (a scheduler '
                      "filter's verdict)",
    Effect.VALIDATED: 'it is only validated (API, Glance, CLI)',
}


@dataclasses.dataclass(frozen=True)
class Consumer:
    """Code that acts on a key, and what it changes."""

    effect: Effect
    #: Dotted path of the function, class or method; None for VALIDATED.
    code: ty.Optional[str] = None


_DRIVER = 'nova_stx.virt.libvirt.driver.LibvirtDriver'
_PLAN = 'nova_stx.virt.libvirt.migration_policy.plan'

#: The data contract: which code acts on each key, and what it changes.
#: Every key is also validated (API, Glance metadefs, CLI); a key whose
#: only consumer is VALIDATED must say so in its help.
CONSUMERS = {
    LIVE_MIGRATION_MAX_DOWNTIME.id: (Consumer(Effect.MIGRATION, _PLAN),),
    LIVE_MIGRATION_TIMEOUT.id: (Consumer(Effect.MIGRATION, _PLAN),),
    LIVE_MIGRATION_AUTO_CONVERGE.id: (Consumer(Effect.MIGRATION, _PLAN),),
    LIVE_MIGRATION_TUNNEL.id: (Consumer(Effect.MIGRATION, _PLAN),),
    CPU_MODEL.id: (
        Consumer(Effect.PLACEMENT, 'nova_stx.scheduler.filters.'
                                   'vcpu_model_filter.StxVCpuModelFilter'),
        Consumer(Effect.GUEST, _DRIVER + '._get_guest_config')),
    HPET_ENABLED.id: (Consumer(Effect.GUEST, _DRIVER + '._get_guest_config'),),
    AUTO_RECOVERY_ENABLED.id: (Consumer(Effect.VALIDATED),),
}


def consumers(key):
    """Return the :class:`Consumer` entries of ``key``."""
    return CONSUMERS.get(key.id, ())
