"""Deterministic randomness keyed by (seed, what, index).

Why: every record of every simulator is a pure function of the seed and its coordinates, so a
page can be rebuilt at any time without storing it (real scale fits in little memory) and two
runs with the same seed serve byte-identical pages. ``random.Random`` seeded from a keyed
BLAKE2b digest is cheap enough (a few microseconds) to create one per record.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["mix64", "rng", "stable_hash", "unit"]

_MASK = (1 << 64) - 1


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of ``parts`` that is the same on every run and platform."""
    text = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def rng(*parts: object) -> random.Random:
    """A private generator for one coordinate (e.g. ``seed, "techport", "cong-nghe", 17``)."""
    return random.Random(stable_hash(*parts))


def mix64(value: int) -> int:
    """SplitMix64 finalizer: a fast integer hash for per-index coin flips in hot loops."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def unit(salt: int, index: int) -> float:
    """A uniform number in [0, 1) for ``index`` under ``salt`` (use ``stable_hash`` for salt)."""
    return mix64(salt ^ (index * 0x2545F4914F6CDD1D & _MASK)) / 2.0**64
