"""The random draws every demo seeder shares: one stream per kind of data, weighted picks.

Every kind of data draws from its own ``random.Random`` stream (``rng(seed, kind)``), so a later kind
(touchpoints, loyalty, tickets) adds a stream of its own and leaves the data it builds on unchanged.
"""

from __future__ import annotations

import bisect
import itertools
import random
import types
from collections.abc import Iterable, Sequence


def rng(seed: int, kind: str, offset: int = 1) -> random.Random:
    """The random stream for one kind of data; string seeds hash with SHA-512, stable across runs."""
    return random.Random(f"{seed}:{kind}:{offset}")


class Row(types.SimpleNamespace):
    """One row to write, its attributes named like the model's (attname); ``derive_fields`` fills it too."""


def cumulative(weights: Iterable[int]) -> list[int]:
    return list(itertools.accumulate(weights))


def pick(r: random.Random, population: Sequence, cum_weights: Sequence[int]):
    """``r.choices(population, cum_weights=cum_weights)[0]``, without its per-call overhead."""
    return population[bisect.bisect_right(cum_weights, r.random() * cum_weights[-1])]


def between(r: random.Random, low: int, high: int) -> int:
    """A number from low to high inclusive (like ``randint``, a third of its cost)."""
    return low + int(r.random() * (high - low + 1))
