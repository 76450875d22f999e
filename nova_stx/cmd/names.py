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

"""Unknown and misspelt property names, with the closest valid name.

The valid names come from nova-stx's key registry (:mod:`nova_stx.keys`)
and Nova's own: the extra-spec validators Nova's API registers (which
include nova-stx's) and the image properties Nova's ``ImageMetaProps``
knows. Names are judged where someone would enforce them: our prefixes
(``hw:wrs:``, ``hw_wrs_`` ...) in every source, Nova's strict extra-spec
namespaces (``hw:``, ``hw_rng:`` ...) in flavors, ``hw_`` in images
(Nova drops image properties it does not know before the scheduler).
"""

import difflib
import functools
import re

from nova_stx import keys


@functools.lru_cache(maxsize=None)
def _nova_validators():
    try:
        from nova.api.validation.extra_specs import validators
    except ImportError:
        return {}, frozenset()
    return dict(validators.VALIDATORS), frozenset(validators.NAMESPACES)


@functools.lru_cache(maxsize=None)
def _nova_image_properties():
    try:
        from nova.objects import image_meta
    except ImportError:
        return frozenset()
    return frozenset(image_meta.ImageMetaProps.fields)


def _nova_knows_flavor_key(name):
    """Return True/False for a key in a strict namespace, None otherwise."""
    registered, namespaces = _nova_validators()
    if name in registered or any(re.fullmatch(v.name_regex, name)
                                 for v in registered.values()):
        return True
    if ':' not in name:
        return None
    namespace = name.split(':', 1)[0]
    if any(re.fullmatch(ns, namespace) for ns in namespaces):
        return False
    return None


def valid_names(source):
    """Return the names a property of ``source`` may have, sorted."""
    names = set(keys.by_name(source))
    if source is keys.Source.FLAVOR:
        names |= set(_nova_validators()[0])
    elif source is keys.Source.IMAGE:
        names |= _nova_image_properties()
    return sorted(names)


def _article(source):
    return f'an {source}' if str(source)[0] in 'aeiou' else f'a {source}'


def _ours_elsewhere(name, source):
    for other in keys.Source:
        if other is source or other is keys.Source.CONFIG:
            continue
        key = keys.by_name(other).get(name)
        if key is not None:
            return other, key
    return None, None


def unknown_reason(source, name):
    """Return why ``name`` is not a valid ``source`` property, or None.

    :param source: a :class:`keys.Source`.
    :param name: the property name.
    :returns: None when the name is valid or not ours to judge, else a
        text naming the closest valid name.
    """
    if name in keys.by_name(source):
        return None
    if source is keys.Source.FLAVOR:
        verdict = _nova_knows_flavor_key(name)
        unknown = (verdict is False or (
            verdict is None and name.startswith(keys.owned_prefixes())))
    elif source is keys.Source.IMAGE:
        unknown = (name.startswith(keys.owned_prefixes()) or (
            name.startswith('hw_') and _nova_image_properties() and
            name not in _nova_image_properties()))
    else:
        unknown = name.startswith(keys.owned_prefixes())
    if not unknown:
        return None
    other, key = _ours_elsewhere(name, source)
    if key is not None:
        right = key.name_in(source)
        hint = (f'{name} is the {other} name of {key.title}; as a {source} '
                f'property it is {right}' if right else
                f'{key.title} cannot be set as a {source} property')
        return f'{name} is not valid as {_article(source)} property: {hint}.'
    close = difflib.get_close_matches(name, valid_names(source), n=1,
                                      cutoff=0.6)
    hint = f'did you mean {close[0]}?' if close else (
        'known nova-stx keys: ' + ', '.join(sorted(keys.by_name(source))))
    return (f'{name} is not {_article(source)} property nova-stx or Nova '
            f'knows; {hint}')


def unknown_names(properties):
    """Return ``[(source, name, reason)]`` for every unknown name.

    :param properties: ``{Source: {name: value}}``.
    """
    return [(source, name, reason)
            for source, props in properties.items() for name in props
            for reason in [unknown_reason(source, name)] if reason]


def refuse_unknown(properties, error):
    """Raise ``error`` naming every unknown property name, if any."""
    found = unknown_names(properties)
    if found:
        raise error(' '.join(reason for _s, _n, reason in found))


def closest_hint(word, choices):
    """Return ``did you mean X?`` or the list of ``choices``."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return (f'did you mean {close[0]}?' if close else
            'choose from ' + ', '.join(choices))
