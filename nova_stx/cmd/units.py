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

"""Sizes, rates and link speeds with their units, as argparse types.

A value always carries its unit: ``64GiB``, ``512MiB``, ``1GB/s``,
``200MiB/s``, ``10Gbit/s``, ``10GbE``. ``B`` is a byte and ``b`` or
``bit`` a bit, ``Ki``/``Mi``/``Gi``/``Ti`` powers of 1024 and ``k``/``M``/
``G``/``T`` powers of 1000. Other case is taken where it cannot mean
another unit and keeps ``B`` and ``b`` (``gbit/s``, ``GIB``); else it
is refused naming the units meant (``gb/s``: ``Gb/s`` or ``GB/s``).
``NGbE`` is an Ethernet link of N Gbit/s line rate. Each type refuses
values outside its bounds; the message names the value and the rule
(argparse adds the option).
"""

import argparse
import math
import re

_BYTE_PREFIXES = {'': 1, 'k': 1e3, 'K': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12,
                  'Ki': 2 ** 10, 'Mi': 2 ** 20, 'Gi': 2 ** 30, 'Ti': 2 ** 40}
_BIT_PREFIXES = {'': 1, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12}
#: Size units, bytes.
SIZES = {f'{p}B': f for p, f in _BYTE_PREFIXES.items()}
#: Rate units, bytes/s: bytes and bits per second.
RATES = {f'{u}/s': f for u, f in SIZES.items()}
RATES.update({f'{p}Bps': f for p, f in _BYTE_PREFIXES.items()
              if 'i' not in p and p})
RATES.update({f'{p}{b}': f / 8 for p, f in _BIT_PREFIXES.items()
              for b in ('bit/s', 'b/s', 'bps')})
_NUMBER = re.compile(r'\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE]([-+]?\d{1,3}))?\s*'
                     r'(\S*)\s*$', re.ASCII)


def _fold(unit):
    """The unit with its case folded, but for ``B`` (byte), ``b`` (bit)."""
    return ''.join(c if c in 'bB' else c.lower() for c in unit)


def _unit(text, units, example):
    """Return the factor of the unit ``text``, or raise with the rule."""
    if text in units:
        return units[text]
    if not text:
        raise ValueError(f'needs a unit, e.g. {example}')
    close = [u for u in units if u.lower() == text.lower()]
    factors = {units[u] for u in close}
    if len(factors) == 1 and _fold(close[0]) == _fold(text):
        return factors.pop()
    if close:
        raise ValueError(f"has the unit '{text}' in the wrong case (B is a "
                         f"byte, b a bit): did you mean "
                         f"{' or '.join(close)}?")
    raise ValueError(f"has an unknown unit '{text}'; use one of "
                     f"{', '.join(units)}")


def _scaled(text, units, example):
    """Return ``text`` in base units (bytes, bytes/s)."""
    match = _NUMBER.match(text) if len(text) <= 40 else None
    if match is None:
        raise ValueError(f'is not a number and unit like {example}')
    number = float(match.group(1) + (
        'e' + match.group(2) if match.group(2) else ''))
    return number * _unit(match.group(3), units, example)


def _human(value, units):
    """Write a bound with the largest unit of ``units`` it fills."""
    unit = max((u for u in units if units[u] <= value and
                (value / units[u]).is_integer()),
               key=lambda u: units[u], default=None)
    return f'{value / units[unit]:g} {unit}' if unit else f'{value:g}'


class _Quantity:
    """An argparse type: a number with a unit, within bounds."""

    units = SIZES
    example = '64GiB'
    shown_in = None

    def __init__(self, minimum, maximum, zero=False):
        self.minimum = minimum
        self.maximum = maximum
        self.zero = zero

    def rule(self):
        low = '0 or ' if self.zero else ''
        shown = self.shown_in or self.units
        return (f'must be {low}from {_human(self.minimum, shown)} to '
                f'{_human(self.maximum, shown)}')

    def convert(self, text):
        return _scaled(text, self.units, self.example)

    def __call__(self, text):
        try:
            value = self.convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"'{text}' {exc}")
        if not math.isfinite(value) or not (
                (self.zero and value == 0) or
                self.minimum <= value <= self.maximum):
            raise argparse.ArgumentTypeError(f"{self.rule()}, got '{text}'")
        return value


class Size(_Quantity):
    """A size in bytes: ``64GiB``, ``512MiB``, ``8GB``."""


class Rate(_Quantity):
    """A rate in bytes/s: ``1GB/s``, ``200MiB/s``, ``8Gbit/s``."""

    units = RATES
    example = '1GB/s'
    shown_in = {u: f for u, f in RATES.items() if u.endswith('B/s')}


class Link(Rate):
    """A link's line rate in bytes/s: ``10GbE``, ``25Gbit/s``, ``1GB/s``.
    """

    example = '10GbE'
    shown_in = {u: f for u, f in RATES.items() if u.endswith('bit/s')}

    def convert(self, text):
        if text.strip().lower().endswith('gbe'):
            # NOTE(nova-stx): NGbE is N Gbit/s of line rate.
            return _scaled(text.strip()[:-3] + 'Gbit/s', RATES,
                           self.example)
        try:
            return super().convert(text)
        except ValueError as exc:
            if 'use one of' not in str(exc):
                raise
            raise ValueError(f'{exc}, or NGbE (N Gbit/s Ethernet)')


def size_text(value):
    """Write a size in bytes with the largest binary unit it fills."""
    unit = max((u for u in ('B', 'KiB', 'MiB', 'GiB', 'TiB')
                if SIZES[u] <= value), key=SIZES.get, default='B')
    return f'{value / SIZES[unit]:.4g} {unit}'


def link_text(value):
    """Write a link speed in bytes/s as bits per second."""
    unit = max((u for u in ('bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s',
                            'Tbit/s') if RATES[u] <= value),
               key=RATES.get, default='bit/s')
    return f'{value / RATES[unit]:.4g} {unit}'
