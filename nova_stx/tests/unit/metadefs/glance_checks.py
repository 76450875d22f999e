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

"""The checks a real Glance applies to a metadef file, run in-process.

``glance-manage db load_metadefs`` loads almost anything; the API then
rejects or fails on what it loaded. So a file is checked as the API checks
a namespace: Glance's own JSON schema, then its WSME model conversion,
plus what neither catches (duplicate keys, defaults out of range,
collisions with Glance's own namespaces).
"""

import glob
import json
import os
import sys

from glance.api.v2 import metadef_namespaces
from glance.api.v2.model import metadef_namespace
from glance.common import exception as glance_exc
import wsme.exc
import wsme.rest.json

#: Where the glance wheel installs Glance's own metadef files.
UPSTREAM_DIR = os.path.join(sys.prefix, 'etc', 'glance', 'metadefs')


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f'duplicate key {key!r}')
        seen[key] = value
    return seen


def load(path):
    """Parse ``path`` strictly; raise ValueError on duplicate keys."""
    with open(path) as f:
        return json.load(f, object_pairs_hook=_no_duplicates)


def _default_problems(name, prop):
    if 'default' not in prop:
        return []
    default = prop['default']
    if prop.get('enum') and default not in prop['enum']:
        return [f'{name}: default {default!r} not in enum']
    if prop['type'] == 'integer':
        low, high = prop.get('minimum'), prop.get('maximum')
        if not isinstance(default, int) or isinstance(default, bool):
            return [f'{name}: default {default!r} is not an integer']
        if (low is not None and default < low) or (
                high is not None and default > high):
            return [f'{name}: default {default} outside [{low}, {high}]']
    if prop['type'] == 'boolean' and not isinstance(default, bool):
        return [f'{name}: default {default!r} is not a boolean']
    return []


def problems(path):
    """Return what a real Glance would object to in ``path``."""
    try:
        doc = load(path)
    except ValueError as exc:
        return [f'not strict JSON: {exc}']
    found = []
    try:
        metadef_namespaces.get_schema().validate(doc)
    except glance_exc.InvalidObject as exc:
        found.append(f'Glance API schema (HTTP 400): {exc}')
    try:
        wsme.rest.json.fromjson(metadef_namespace.Namespace, doc)
    except (wsme.exc.ClientSideError, ValueError, TypeError) as exc:
        found.append(f'Glance model conversion (HTTP 500): {exc}')
    for name, prop in doc.get('properties', {}).items():
        if isinstance(prop, dict) and 'type' in prop:
            found += _default_problems(name, prop)
    return found


def upstream_names():
    """Return Glance's namespaces and ``{(resource type, name)}``."""
    namespaces, names = set(), set()
    for path in glob.glob(os.path.join(UPSTREAM_DIR, '*.json')):
        with open(path) as f:
            doc = json.load(f)
        namespaces.add(doc['namespace'])
        for assoc in doc.get('resource_type_associations', []):
            for prop in doc.get('properties', {}):
                names.add((assoc['name'], assoc.get('prefix', '') + prop))
    return namespaces, names
