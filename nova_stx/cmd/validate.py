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

"""``nova-stx validate``: check properties offline with the API's rules."""

from nova_stx.cmd import cli
from nova_stx.cmd import guest
from nova_stx.cmd import inputs
from nova_stx.cmd import names
from nova_stx import keys

_SECTIONS = {s.value: s for s in cli.PROPERTY_SOURCES}


def load_file(path):
    """Read a properties file: ``{flavor: {...}, image: {...}, ...}``.

    Values are kept as the text written (as Nova and Glance keep them).

    :returns: ``{Source: {name: value}}``.
    :raises cli.UsageError: naming the file and the problem.
    """
    data = inputs.load_yaml(inputs.read_text(path, 'properties file'),
                            path, typed=False)
    data = data or {}
    if not isinstance(data, dict):
        raise cli.UsageError(
            f'{path} must map "flavor", "image" and "instance" to '
            f'objects of properties')
    unknown = [str(s) for s in data if s not in _SECTIONS]
    if unknown:
        raise cli.UsageError(
            f'{path}: unknown section(s) {", ".join(sorted(unknown))}; '
            f'expected flavor, image, instance')
    result = {s: {} for s in cli.PROPERTY_SOURCES}
    for section, props in data.items():
        if props in (None, ''):
            continue
        if not isinstance(props, dict):
            raise cli.UsageError(f'{path}: "{section}" must be an object '
                                 f'of properties')
        for name, value in props.items():
            where = f'{path}: {section} property {name!r}'
            if not isinstance(name, str) or not isinstance(value, str):
                raise cli.UsageError(f'{where} must be a name with a '
                                     f'plain value, not a list or object')
            inputs.check_text(name, where)
            inputs.check_text(value, where)
            result[_SECTIONS[section]][name] = value
    return result


def _nova_error(name, value):
    """Nova's own verdict on a flavor extra spec, when Nova is here."""
    try:
        from nova.api.validation.extra_specs import validators
        from nova import exception
    except ImportError:
        return None
    try:
        validators.validate(name, value)
    except exception.ValidationError as exc:
        return f"{name}='{value}': {exc}"
    return None


def check(properties):
    """Check every property; return ``[(source, name, value, error)]``.

    ``error`` is None for a valid property. Our keys are checked with the
    registry; unknown names (ours and Nova's strict namespaces) are errors
    naming the closest valid name; other flavor extra specs get Nova's own
    validation when Nova is installed.
    """
    results = []
    for source, props in properties.items():
        owned = keys.by_name(source)
        for name, value in props.items():
            error = names.unknown_reason(source, name)
            if error is None and name in owned:
                try:
                    owned[name].parse(value, source)
                except keys.InvalidValue as exc:
                    error = str(exc)
            elif error is None and source is keys.Source.FLAVOR:
                error = _nova_error(name, value)
            results.append((source, name, value, error))
    conflicts = {exc.name: str(exc)
                 for exc in keys.check_image_against_flavor(
                     properties.get(keys.Source.FLAVOR, {}),
                     properties.get(keys.Source.IMAGE, {}))}
    return [(source, name, value,
             error or (conflicts.get(name)
                       if source is keys.Source.IMAGE else None))
            for source, name, value, error in results]


#: The ``Source`` of the rows saying what the guest gets.
GUEST = 'guest'


def guest_rows(properties):
    """Rows saying what the guest gets, when a property changes it.

    :param properties: ``{Source: {name: value}}``.
    :returns: ``[(GUEST, field, value, result, detail)]``; empty when no
        property given changes the guest.
    """
    flavor = properties.get(keys.Source.FLAVOR, {})
    image = properties.get(keys.Source.IMAGE, {})
    if not guest.reads(flavor, image):
        return []
    return [(GUEST, item.field, item.text,
             'error' if item.error else 'ok', item.detail)
            for item in guest.describe(flavor, image)]


class Validate(cli.Lister):
    """Check flavor extra specs, image properties and instance metadata.

    The rules are those Nova's API, Glance and the driver apply; unknown
    or misspelt names are errors naming the closest valid name. When a
    property changes the guest itself, rows with source "guest" say what
    the guest gets (its vCPU model and HPET) and from which property; a
    flavor/image conflict is an error there. Exits 1 when any property is
    invalid, 2 on a usage error.
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        cli.add_property_options(parser)
        parser.add_argument(
            '--file', metavar='PATH',
            help='A JSON or YAML file {"flavor": {...}, "image": {...}, '
                 '"instance": {...}}; options add to it.')
        return parser

    def take_action(self, args):
        properties = load_file(args.file) if args.file else {
            s: {} for s in cli.PROPERTY_SOURCES}
        for source, props in cli.properties_from_args(args).items():
            for name, value in props.items():
                inputs.check_text(name, f'--{source}-property {name!r}')
                inputs.check_text(value, f'--{source}-property {name!r}')
            properties[source].update(props)
        if not any(properties.values()):
            raise cli.UsageError(
                'nothing to check: give --flavor-property, '
                '--image-property, --instance-property or --file')
        rows = [(str(source), name, value, 'error' if error else 'ok',
                 error or '')
                for source, name, value, error in check(properties)]
        rows += guest_rows(properties)
        self.exit_code = 1 if any(r[3] == 'error' for r in rows) else 0
        return ('Source', 'Property', 'Value', 'Result', 'Detail'), rows
