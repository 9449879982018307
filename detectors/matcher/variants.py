"""Pinyin spellings and homophones of a listed term (pypinyin).

Only entries flagged ``pinyin`` get variants, because they raise false
positives. Homophones are drawn from the 3,755 common characters (GB2312
level 1) that share the toneless reading of the first pronunciation, which
keeps the number of variants per entry bounded.
"""

from __future__ import annotations

import itertools
import threading
from functools import lru_cache

MAX_VARIANTS = 300
MAX_HOMOPHONES_PER_CHAR = 40

_lock = threading.Lock()
_groups: dict[str, list[str]] | None = None


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0002ffff"


@lru_cache(maxsize=65536)
def reading(ch: str) -> str | None:
    """Toneless pinyin of a Chinese character (first reading), or None."""
    if not _is_cjk(ch):
        return None
    from pypinyin import Style, lazy_pinyin

    out = lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")
    return out[0] if out and out[0].isascii() and out[0].isalpha() else None


def _common_chars() -> list[str]:
    chars = []
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.append(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def homophone_groups() -> dict[str, list[str]]:
    global _groups
    if _groups is None:
        with _lock:
            if _groups is None:
                groups: dict[str, list[str]] = {}
                for ch in _common_chars():
                    r = reading(ch)
                    if r:
                        groups.setdefault(r, []).append(ch)
                _groups = groups
    return _groups


def variants(term: str) -> list[tuple[str, str]]:
    """(variant, rule) pairs for a term: rule is ``pinyin`` or ``homophone``."""
    chars = list(term)
    readings = [reading(c) for c in chars]
    positions = [i for i, r in enumerate(readings) if r]
    if not positions:
        return []
    out: dict[str, str] = {}
    # pinyin spellings: every mix of characters and pinyin for short terms, else one position or all
    if len(positions) <= 4:
        subsets = itertools.chain.from_iterable(
            itertools.combinations(positions, k) for k in range(1, len(positions) + 1)
        )
    else:
        subsets = itertools.chain(((p,) for p in positions), [tuple(positions)])
    for subset in subsets:
        v = list(chars)
        for i in subset:
            v[i] = readings[i] or v[i]
        out.setdefault("".join(v), "pinyin")
    # homophones: one character replaced by another with the same reading
    groups = homophone_groups()
    for i in positions:
        for h in groups.get(readings[i] or "", [])[:MAX_HOMOPHONES_PER_CHAR]:
            if h != chars[i]:
                v = list(chars)
                v[i] = h
                out.setdefault("".join(v), "homophone")
            if len(out) >= MAX_VARIANTS:
                break
    out.pop(term, None)
    return list(out.items())[:MAX_VARIANTS]
