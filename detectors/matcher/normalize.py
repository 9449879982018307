"""Normalization that maps back to the original text.

One combined translation table (a numpy look-up table over every code point)
folds case, full/half width, Unicode compatibility forms, traditional to
simplified Chinese (OpenCC t2s, applied per character so it never depends on
context) and Chinese numeral styles, and marks noise characters and sentence
breaks. Every step of the table is one character to one character, so offsets
stay put; only two steps delete characters (short noise runs and repeated
characters), and both are done with numpy masks that keep, for every kept
character, its index in the original text. List entries go through exactly
the same function as the text they are matched against.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

NOISE = 0x01  # marker for a noise character (space, punctuation, symbol, emoji, zero-width...)
BREAK = 0x02  # marker for a sentence break (never bridged)
_MAX_CP = 0x110000

# characters that end a sentence: a term is never matched across them
_BREAK_CHARS = "。｡！？；!?;\n\r\u2028\u2029…"

_NUMERALS = {
    "〇": "0", "零": "0", "一": "1", "壹": "1", "二": "2", "贰": "2", "貳": "2", "三": "3", "叁": "3",
    "參": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6", "陸": "6",
    "七": "7", "柒": "7", "八": "8", "捌": "8", "九": "9", "玖": "9",
}  # fmt: skip
# dingbat circled digits have no compatibility decomposition
_DINGBATS = {chr(0x2776 + i): str(i + 1) for i in range(9)}
_DINGBATS.update({chr(0x2780 + i): str(i + 1) for i in range(9)})
_DINGBATS.update({chr(0x278A + i): str(i + 1) for i in range(9)})

TABLE_RULES = ("width", "compat", "case", "t2s", "numeral")
RULES = (*TABLE_RULES, "noise", "repeat", "pinyin", "homophone")


@dataclass(frozen=True)
class Options:
    """Evasion rules of one list (stored as JSON in the list's options)."""

    case: bool = True
    width: bool = True
    compat: bool = True
    t2s: bool = True
    numerals: bool = True
    noise_gap: int = 3  # noise characters allowed between two characters of a term; 0 = off
    repeats: bool = True
    whole_word: bool = True  # Latin-letter terms match whole words only
    pinyin: bool = True  # entries flagged ``pinyin`` also match pinyin spellings and homophones

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Options:
        from core.errors import BadInput

        data = dict(data or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise BadInput(
                f"unknown match option(s): {', '.join(unknown)}",
                hint=f"known options are: {', '.join(known)}",
            )
        out: dict[str, Any] = {}
        for k, v in data.items():
            if k == "noise_gap":
                try:
                    v = int(v)
                except (TypeError, ValueError) as exc:
                    raise BadInput(f"noise_gap must be a whole number, not {v!r}", hint="use 0..10") from exc
                if not 0 <= v <= 10:
                    raise BadInput(f"noise_gap {v} is out of range", hint="use 0..10")
            elif not isinstance(v, bool):
                if str(v).lower() in ("true", "1", "yes", "on"):
                    v = True
                elif str(v).lower() in ("false", "0", "no", "off"):
                    v = False
                else:
                    raise BadInput(f"option {k} must be true or false, not {v!r}", hint="use true/false")
            out[k] = v
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def profile(self) -> Profile:
        return Profile(self.case, self.width, self.compat, self.t2s, self.numerals, self.noise_gap, self.repeats)


@dataclass(frozen=True)
class Profile:
    """The options that change how text is normalized (lists sharing one share a scan)."""

    case: bool = True
    width: bool = True
    compat: bool = True
    t2s: bool = True
    numerals: bool = True
    noise_gap: int = 3
    repeats: bool = True


# -- the per-character component maps (built once per process) -----------------
_components: dict[str, dict[int, int]] | None = None
_lock = threading.RLock()


def _single(s: str) -> str | None:
    if len(s) == 1:
        return s
    core = "".join(ch for ch in s if ch not in "()[]{}.,， ")
    return core if len(core) == 1 else None


def _build_components() -> dict[str, dict[int, int]]:
    width: dict[int, int] = {}
    compat: dict[int, int] = {}
    case: dict[int, int] = {}
    for cp in range(0x30000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        n = unicodedata.normalize("NFKC", ch)
        if n != ch:
            one = _single(n)
            if one is not None:
                if 0xFF00 <= cp <= 0xFFEF or cp == 0x3000:
                    width[cp] = ord(one)
                else:
                    compat[cp] = ord(one)
        low = ch.lower()
        if low != ch and len(low) == 1:
            case[cp] = ord(low)
    for k, v in _DINGBATS.items():
        compat[ord(k)] = ord(v)
    import opencc

    conv = opencc.OpenCC("t2s.json")
    cjk = [chr(c) for r in ((0x3400, 0xA000), (0xF900, 0xFB00), (0x20000, 0x2B740)) for c in range(*r)]
    out = conv.convert("\n".join(cjk)).split("\n")
    t2s: dict[int, int] = {}
    if len(out) == len(cjk):
        for a, b in zip(cjk, out, strict=True):
            if a != b and len(b) == 1:
                t2s[ord(a)] = ord(b)
    numeral = {ord(k): ord(v) for k, v in _NUMERALS.items()}
    return {"width": width, "compat": compat, "case": case, "t2s": t2s, "numeral": numeral}


def components() -> dict[str, dict[int, int]]:
    global _components
    if _components is None:
        with _lock:
            if _components is None:
                _components = _build_components()
    return _components


def _is_noise(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "ZPS" or cat in ("Cc", "Cf", "Co", "Cs", "Mn", "Me")


_NOISE_CPS: np.ndarray | None = None


def _noise_codepoints() -> np.ndarray:
    global _NOISE_CPS
    if _NOISE_CPS is None:
        cps = [cp for cp in range(0x30000) if _is_noise(chr(cp))]
        cps += list(range(0xE0000, 0xE0080)) + list(range(0xF0000, 0x110000, 1))  # tags, private use
        _NOISE_CPS = np.array(cps, dtype=np.uint32)
    return _NOISE_CPS


class Table:
    """The combined look-up table of one profile, plus which rule changed which character."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        comps = components()
        lut = np.arange(_MAX_CP, dtype=np.uint32)
        rules: dict[int, set[str]] = {}
        enabled = {
            "width": profile.width, "compat": profile.compat, "case": profile.case,
            "t2s": profile.t2s, "numeral": profile.numerals,
        }  # fmt: skip
        changed: set[int] = set()
        for name in TABLE_RULES:
            if enabled[name]:
                changed.update(comps[name])
        # follow every changed code point through the chain in order
        for cp in sorted(changed):
            x = cp
            fired: set[str] = set()
            for name in TABLE_RULES:
                if not enabled[name]:
                    continue
                y = comps[name].get(x)
                if y is not None and y != x:
                    x = y
                    fired.add(name)
            if profile.numerals and 0x30 <= x <= 0x39:
                fired.add("numeral")  # any number style that ends as a digit (②, ⑵, ６, 陸)
            if x != cp:
                lut[cp] = x
                rules[cp] = fired
        noise = _noise_codepoints()
        mapped_noise = np.isin(lut, noise)
        lut[mapped_noise] = NOISE
        for ch in _BREAK_CHARS:
            lut[ord(ch)] = BREAK
        # anything that maps onto a break character is a break too
        lut[np.isin(lut, np.array([ord(c) for c in _BREAK_CHARS], dtype=np.uint32))] = BREAK
        lut[0] = NOISE
        lut[NOISE] = NOISE
        lut[BREAK] = BREAK
        self.lut = lut
        self.rules = {cp: tuple(sorted(r)) for cp, r in rules.items() if lut[cp] not in (NOISE, BREAK)}
        self.digits = np.arange(ord("0"), ord("9") + 1, dtype=np.uint32)


_tables: dict[Profile, Table] = {}


def table_for(profile: Profile) -> Table:
    t = _tables.get(profile)
    if t is None:
        with _lock:
            t = _tables.get(profile)
            if t is None:
                t = _tables[profile] = Table(profile)
    return t


@dataclass
class Normalized:
    """A normalized chunk: ``text[i]`` came from ``source[index[i]]``."""

    source: str
    text: str
    mapped: np.ndarray  # the table applied to the source, before deletions (uint32)
    keep: np.ndarray | None  # bool per source char after noise deletion (None: nothing deleted)
    keep2: np.ndarray | None  # bool per char left after noise deletion: False for a collapsed repeat
    _index: np.ndarray | None = None

    @property
    def index(self) -> np.ndarray:
        """Source offset of every normalized character (built on first use: only chunks with hits pay)."""
        if self._index is None:
            idx = np.arange(len(self.mapped), dtype=np.int64) if self.keep is None else np.flatnonzero(self.keep)
            self._index = idx if self.keep2 is None else idx[self.keep2]
        return self._index

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Normalized [start, end) -> source [start, end)."""
        return int(self.index[start]), int(self.index[end - 1]) + 1


def _to_codes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _from_codes(codes: np.ndarray) -> str:
    return codes.astype("<u4", copy=False).tobytes().decode("utf-32-le", "surrogatepass")


def _long_runs(mask: bytes, gap: int) -> Iterator[tuple[int, int]]:
    """[start, end) of every run of 1-bytes longer than ``gap`` (bytes.find is a fast C search)."""
    needle = b"\x01" * (gap + 1)
    pos = mask.find(needle)
    while pos >= 0:
        end = mask.find(b"\x00", pos)
        end = len(mask) if end < 0 else end
        yield pos, end
        pos = mask.find(needle, end)


def normalize(text: str, table: Table) -> Normalized:
    """Normalize ``text`` with ``table``; keeps the map back to original offsets."""
    p = table.profile
    mapped = table.lut[_to_codes(text)]
    keep: np.ndarray | None = None
    keep2: np.ndarray | None = None
    if p.noise_gap > 0 and len(mapped):
        is_noise = mapped == NOISE
        if is_noise.any():
            keep = ~is_noise
            # runs of noise longer than the gap stay, as barriers (rare: found by a regex over the mask)
            for a, b in _long_runs(is_noise.view(np.uint8).tobytes(), p.noise_gap):
                keep[a:b] = True
    vals = mapped if keep is None else mapped[keep]
    if p.repeats and len(vals) > 1:
        same = np.flatnonzero(vals[1:] == vals[:-1]) + 1
        if len(same):
            v = vals[same]
            drop = same[(v > BREAK) & ((v < 0x30) | (v > 0x39))]  # digits and markers never collapse
            if len(drop):
                keep2 = np.ones(len(vals), dtype=bool)
                keep2[drop] = False
                vals = vals[keep2]
    return Normalized(text, _from_codes(vals), mapped, keep, keep2)


def normalize_term(term: str, table: Table) -> str:
    """Normalize a list entry or allowed phrase exactly like text (leading/trailing noise dropped)."""
    out = normalize(term, table).text
    return out.strip("\x01\x02")


def normalize_terms(terms: list[str], table: Table, batch: int = 2000) -> list[str]:
    """``normalize_term`` for many terms at once (one numpy pass per batch, joined by line breaks)."""
    out: list[str] = []
    for i in range(0, len(terms), batch):
        part = terms[i : i + batch]
        pieces = normalize("\n".join(part), table).text.split("\x02")
        if len(pieces) == len(part):
            out.extend(p.strip("\x01\x02") for p in pieces)
        else:  # a term holds a sentence break of its own: one by one
            out.extend(normalize_term(t, table) for t in part)
    return out


def rules_for_span(norm: Normalized, table: Table, start: int, end: int, nstart: int, nend: int) -> list[str]:
    """Which evasion rules changed source[start:end] into its normalized form."""
    fired: set[str] = set()
    noise = 0
    rules = table.rules
    for ch, m in zip(norm.source[start:end], norm.mapped[start:end].tolist(), strict=True):
        if m == NOISE:
            noise += 1
        else:
            r = rules.get(ord(ch))
            if r:
                fired.update(r)
    if noise:
        fired.add("noise")
    if nend - nstart < (end - start) - noise:
        fired.add("repeat")
    return sorted(fired)


def is_word_char(cp: int) -> bool:
    """Latin letters and digits (after the table): the characters whole-word matching looks at."""
    return (0x30 <= cp <= 0x39) or (0x61 <= cp <= 0x7A) or (0x41 <= cp <= 0x5A) or (0xC0 <= cp <= 0x24F)
