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

"""Hypothesis settings and value strategies shared by property tests.

``HYPOTHESIS_PROFILE=thorough`` runs ten times the examples.
"""

import decimal
import os
import re

import hypothesis
from hypothesis import strategies as st

from nova_stx import keys

_SCALE = 10 if os.environ.get('HYPOTHESIS_PROFILE') == 'thorough' else 1


def settings(max_examples):
    """Deterministic settings for CI, ``max_examples`` scaled by profile."""
    return hypothesis.settings(
        max_examples=max_examples * _SCALE, deadline=None, database=None,
        derandomize=True, print_blob=True,
        suppress_health_check=list(hypothesis.HealthCheck))


ASCII_SPACE = ' \t\n\r\x0b\x0c'
#: Look-alikes of digits and spaces that Python's int() takes, or not.
LOOK_ALIKES = ('_', '\u0661', '\uff11', '\u00b2', '\u00a0', '\u2003',
               '\u3000', '.', 'e', 'E', 'x', ',', '\x00', '\ud800', '٫')

_spaces = st.text(alphabet=ASCII_SPACE, max_size=3)
_signs = st.sampled_from(('', '', '+', '-'))
_digits = st.one_of(
    st.integers(0, 2000).map(str),
    st.integers(0, 10 ** 25).map(str),
    st.builds(lambda zeros, n: '0' * zeros + str(n),
              st.integers(0, 6000), st.integers(0, 1000)),
    st.builds(lambda d, n: d * n, st.sampled_from('19'),
              st.integers(4290, 4400)),
)
#: Integers as users write them, some of them very long.
integer_texts = st.builds(lambda a, s, d, b: a + s + d + b,
                          _spaces, _signs, _digits, _spaces)


def _mutate(text, where, what):
    where = where % (len(text) + 1)
    return text[:where] + what + text[where:]


#: Integer texts with one look-alike character put somewhere.
near_integers = st.builds(_mutate, integer_texts, st.integers(0, 10 ** 6),
                          st.sampled_from(LOOK_ALIKES))
#: Anything a flavor, image, metadata value or YAML file can hold.
raw_values = st.one_of(
    integer_texts, near_integers,
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0xd800,
                                   max_codepoint=0xdfff), max_size=3),
    st.sampled_from(('true', 'False', 'TRUE', 'yes', '', 'Passthrough',
                     'Haswell', 'haswell', 'Skylake-Server-IBRS')),
    st.integers(), st.integers(-10, 10).map(lambda e: 10 ** (4300 + e)),
    st.booleans(), st.floats(), st.none())

_INTEGER = re.compile(r'[ \t\n\r\x0b\x0c]*([+-]?[0-9]+)[ \t\n\r\x0b\x0c]*')


def expected_integer(key, value):
    """The reference answer for an integer key: the number, or None.

    Written apart from :meth:`keys.Key.parse`: a regular expression for
    the spelling and ``decimal`` (no digit limit) for the value.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = decimal.Decimal(value)
    elif isinstance(value, str):
        match = _INTEGER.fullmatch(value)
        if not match:
            return None
        number = decimal.Decimal(match.group(1))
        digits = match.group(1).lstrip('+-').lstrip('0')
        if key.maximum is None and len(digits) > keys.MAX_INTEGER_DIGITS:
            return None
    else:
        return None
    if key.zero_disables and number == 0:
        return 0
    if key.minimum is not None and number < key.minimum:
        return None
    if key.maximum is not None and number > key.maximum:
        return None
    return number
