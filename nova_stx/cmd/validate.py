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

import json

import yaml

from nova_stx.cmd import cli
from nova_stx import keys


def add_parser(subparsers):
    parser = subparsers.add_parser(
        'validate',
        help='Check flavor extra specs, image properties and instance '
             'metadata against the rules Nova, Glance and the driver apply.',
        description='Check the nova-stx keys among the given properties. '
                    'Exits 1 when any is invalid, 2 on a usage error.')
    cli.add_property_options(parser)
    parser.add_argument(
        '--file', metavar='PATH',
        help='A JSON or YAML file {"flavor": {...}, "image": {...}, '
             '"instance": {...}}; options add to it.')
    parser.set_defaults(func=run)


def _load(path):
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise cli.UsageError(f'cannot read {path}: {exc.strerror}')
    except yaml.YAMLError as exc:
        raise cli.UsageError(f'{path} is not valid JSON or YAML: {exc}')
    data = data or {}
    if not isinstance(data, dict) or not all(
            isinstance(data.get(s.value, {}), dict)
            for s in cli.PROPERTY_SOURCES):
        raise cli.UsageError(
            f'{path} must map "flavor", "image" and "instance" to '
            f'objects of properties')
    unknown = set(data) - {s.value for s in cli.PROPERTY_SOURCES}
    if unknown:
        raise cli.UsageError(
            f'{path}: unknown section(s) {", ".join(sorted(unknown))}; '
            f'expected flavor, image, instance')
    return {s: {str(k): v if isinstance(v, str) else json.dumps(v)
                for k, v in data.get(s.value, {}).items()}
            for s in cli.PROPERTY_SOURCES}


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
    registry; unknown names under our prefixes are errors; other flavor
    extra specs get Nova's own validation when Nova is installed.
    """
    results = []
    for source, props in properties.items():
        owned = keys.by_name(source)
        for name, value in props.items():
            error = None
            if name in owned:
                try:
                    owned[name].parse(value, source)
                except keys.InvalidValue as exc:
                    error = str(exc)
            elif name.startswith(keys.owned_prefixes()):
                error = (f"{name} is not a nova-stx {source} key; known: "
                         f"{', '.join(sorted(owned))}")
            elif source is keys.Source.FLAVOR:
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


def run(args):
    properties = _load(args.file) if args.file else {
        s: {} for s in cli.PROPERTY_SOURCES}
    for source, props in cli.properties_from_args(args).items():
        properties[source].update(props)
    if not any(properties.values()):
        raise cli.UsageError(
            'nothing to check: give --flavor-property, --image-property, '
            '--instance-property or --file')
    failed = 0
    for source, name, value, error in check(properties):
        if error:
            failed += 1
            print(f'error  {source:<8} {error}')
        else:
            print(f'ok     {source:<8} {name}={value}')
    return 1 if failed else 0
