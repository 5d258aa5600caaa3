"""Readable run names for runs started without one (``brave-owl-417``)."""

from __future__ import annotations

import random

_ADJECTIVES = (
    "able", "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "fast",
    "fine", "gentle", "glad", "grand", "keen", "kind", "lively", "lucky", "merry", "neat",
    "noble", "proud", "quick", "quiet", "rapid", "sharp", "shy", "smart", "steady", "swift",
    "tidy", "vivid", "warm", "wise", "witty", "young",
)
_NOUNS = (
    "ant", "bat", "bear", "bee", "cat", "crab", "crow", "deer", "dove", "eel", "elk", "fox",
    "frog", "goat", "hare", "hawk", "ibis", "lark", "lion", "lynx", "mole", "moth", "newt",
    "owl", "puma", "ram", "seal", "slug", "swan", "toad", "wasp", "wolf", "wren", "yak",
)


def random_run_name() -> str:
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{random.randrange(1000)}"
