"""The matcher: one Aho-Corasick automaton (ahocorasick-rs) per normalization profile.

Lists that share their evasion options share one normalized scan. Allowed
phrases are patterns of the same automaton: an allowed match that covers a
listed match (same list or global scope) suppresses it. Long texts are scanned
in windows that overlap by the longest term's reach, so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ahocorasick_rs
import numpy as np

from detectors.base import Finding
from detectors.lists.types import TEXT_KINDS, Entry, ListInfo, Snapshot
from detectors.matcher.normalize import (
    NOISE,
    Options,
    Profile,
    Table,
    is_word_char,
    normalize,
    normalize_term,
    normalize_terms,
    rules_for_span,
    table_for,
)
from detectors.matcher.variants import variants

DETECTOR = "keyword"
_NOISE_CH = chr(NOISE)
CHUNK_CHARS = 1 << 18


@dataclass(slots=True)
class _Ref:
    list_pos: int  # index into Matcher.lists; -1 for an allowed phrase
    entry: Entry | None
    rules: tuple[str, ...]
    ww_left: bool
    ww_right: bool
    scope: int | None = None  # allowed phrase: list id, or None for global


@dataclass
class _Group:
    table: Table
    patterns: dict[str, list[_Ref]] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    refs: list[list[_Ref]] = field(default_factory=list)
    automaton: Any = None
    has_allow: bool = False

    def add(self, key: str, ref: _Ref) -> None:
        self.patterns.setdefault(key, []).append(ref)

    def build(self) -> None:
        self.keys = list(self.patterns)
        self.refs = [self.patterns[k] for k in self.keys]
        self.patterns = {}
        if self.keys:
            self.automaton = ahocorasick_rs.AhoCorasick(
                self.keys,
                matchkind=ahocorasick_rs.MatchKind.Standard,
                implementation=ahocorasick_rs.Implementation.ContiguousNFA,
            )


class Matcher:
    """Built once from a store snapshot; ``match`` is thread-safe (read-only)."""

    def __init__(self, snapshot: Snapshot, now: datetime | None = None) -> None:
        self.snapshot = snapshot
        self.revision = snapshot.revision
        now = now or datetime.now(UTC)
        self.lists: list[ListInfo] = []
        self._groups: dict[Profile, _Group] = {}
        self._list_profile: dict[int, Profile] = {}
        max_len, max_gap = 1, 0
        self.entry_count = 0
        self.next_change: datetime | None = None  # an entry becomes valid or expires then
        self.pattern_count = 0
        for info in snapshot.lists:
            if not info.enabled or info.kind not in TEXT_KINDS:
                continue
            opts = Options.from_dict(info.options)
            prof = opts.profile()
            group = self._group(prof)
            self._list_profile[info.id] = prof
            pos = len(self.lists)
            self.lists.append(info)
            max_gap = max(max_gap, prof.noise_gap)
            all_entries = snapshot.entries.get(info.id, [])
            live = [e for e in all_entries if e.enabled and e.valid_at(now)]
            self._note_changes(all_entries, now)
            keys = normalize_terms([e.term for e in live], group.table)
            for entry, key in zip(live, keys, strict=True):
                if not key:
                    continue
                self.entry_count += 1
                max_len = max(max_len, len(key))
                group.add(key, self._ref(pos, entry, (), key, opts.whole_word))
                if entry.pinyin and opts.pinyin:
                    for var, rule in variants(entry.term):
                        vkey = normalize_term(var, group.table)
                        if vkey and vkey != key:
                            max_len = max(max_len, len(vkey))
                            group.add(vkey, self._ref(pos, entry, (rule,), vkey, True))
        for allow in snapshot.allows:
            if not allow.enabled:
                continue
            targets = (
                list(self._groups.values())
                if allow.list_id is None
                else [self._groups[self._list_profile[allow.list_id]]]
                if allow.list_id in self._list_profile
                else []
            )
            for group in targets:
                key = normalize_term(allow.phrase, group.table)
                if key:
                    max_len = max(max_len, len(key))
                    group.add(key, _Ref(-1, None, (), False, False, allow.list_id))
                    group.has_allow = True
        for group in self._groups.values():
            group.build()
            self.pattern_count += len(group.keys)
        # how far (in source characters) one match can reach: noise gaps and a few repeats
        self.overlap = max_len * (max_gap + 1) * 3 + 16

    def _note_changes(self, entries: list[Entry], now: datetime) -> None:
        for e in entries:
            if e.valid_from is None and e.valid_until is None:
                continue
            for t in (e.valid_from, e.valid_until):
                if t is not None:
                    t = t if t.tzinfo else t.replace(tzinfo=UTC)
                    if t > now and (self.next_change is None or t < self.next_change):
                        self.next_change = t

    def _group(self, prof: Profile) -> _Group:
        g = self._groups.get(prof)
        if g is None:
            g = self._groups[prof] = _Group(table_for(prof))
        return g

    @staticmethod
    def _ref(pos: int, entry: Entry, rules: tuple[str, ...], key: str, whole_word: bool) -> _Ref:
        left = whole_word and is_word_char(ord(key[0]))
        right = whole_word and is_word_char(ord(key[-1]))
        return _Ref(pos, entry, rules, left, right)

    # -- matching -------------------------------------------------------------
    def match(self, text: str) -> list[Finding]:
        """Every listed term in ``text``; offsets point into ``text`` (end exclusive)."""
        return sorted(self.iter_matches(text), key=_order)

    def iter_matches(self, text: str) -> Iterator[Finding]:
        if not self.pattern_count or not text:
            return
        n = len(text)
        if n <= CHUNK_CHARS + self.overlap:
            yield from self._scan(text, 0, 0, n, final=True)
            return
        pos = 0
        while pos < n:
            nxt = min(n, pos + CHUNK_CHARS)
            a = max(0, pos - 1)
            b = min(n, nxt + self.overlap)
            yield from self._scan(text[a:b], a, pos, nxt, final=b == n)
            if b == n:
                return  # this window reached the end and reported everything after pos
            pos = nxt

    def match_stream(self, pieces: Iterable[str]) -> Iterator[Finding]:
        """Scan text that arrives in pieces (a large file) with the same overlap rule."""
        buf = ""
        base = 0  # global offset of buf[0]
        report_from = 0
        for piece in pieces:
            buf += piece
            while len(buf) - (report_from - base) > CHUNK_CHARS + self.overlap:
                nxt = report_from + CHUNK_CHARS
                window = buf[: nxt - base + self.overlap]
                yield from sorted(self._scan(window, base, report_from, nxt, final=False), key=_order)
                cut = nxt - 1 - base
                buf, base, report_from = buf[cut:], base + cut, nxt
        if buf:
            yield from sorted(self._scan(buf, base, report_from, base + len(buf), final=True), key=_order)

    def _scan(self, window: str, base: int, lo: int, hi: int, final: bool) -> Iterator[Finding]:
        """Findings starting in [lo, hi) (global offsets) of ``window`` (which starts at ``base``)."""
        seen: set[tuple[int, int, int]] = set()
        for group in self._groups.values():
            if group.automaton is None:
                continue
            norm = normalize(window, group.table)
            found = group.automaton.find_matches_as_indexes(norm.text, overlapping=True)
            if found:
                yield from self._findings(group, norm, found, window, base, lo, hi if not final else None, seen)

    def _findings(self, group: _Group, norm: Any, found: list[tuple[int, int, int]], window: str, base: int,
                  lo: int, hi: int | None, seen: set[tuple[int, int, int]]) -> Iterator[Finding]:  # fmt: skip
        allowed: list[tuple[int, int, int | None]] = []
        if group.has_allow:
            for pidx, ns, ne in found:
                for ref in group.refs[pidx]:
                    if ref.list_pos < 0:
                        allowed.append((ns, ne, ref.scope))
        # map every match back to source offsets at once (vectorized), then walk the few hits
        arr = np.asarray(found, dtype=np.int64)
        index = norm.index
        starts = index[arr[:, 1]].tolist()
        ends = (index[arr[:, 2] - 1] + 1).tolist()
        mapped = norm.mapped
        wlen = len(window)
        repeats = group.table.profile.repeats
        rules_of: dict[str, list[str]] = {}
        for (pidx, ns, ne), s, e in zip(found, starts, ends, strict=True):
            g = base + s
            if g < lo or (hi is not None and g >= hi):
                continue
            if repeats:  # take in trailing repeats of the last character (赌博博)
                while e < wlen and mapped[e] == mapped[e - 1]:
                    e += 1
            key = group.keys[pidx]
            matched = window[s:e]
            for ref in group.refs[pidx]:
                if ref.list_pos < 0:
                    continue
                info = self.lists[ref.list_pos]
                if ref.ww_left and s > 0 and is_word_char(int(mapped[s - 1])):
                    continue
                if ref.ww_right and e < wlen and is_word_char(int(mapped[e])):
                    continue
                if allowed and any(a <= ns and ne <= b and (sc is None or sc == info.id) for a, b, sc in allowed):
                    continue
                entry = ref.entry
                assert entry is not None
                dedupe = (entry.id, s, e)
                if dedupe in seen:
                    continue
                seen.add(dedupe)
                rules: list[str] | None
                if matched == entry.term:
                    rules = []  # written exactly as listed: no evasion
                else:
                    rules = rules_of.get(matched)
                    if rules is None:
                        rules = [] if matched == key else rules_for_span(norm, group.table, s, e, ns, ne)
                        rules_of[matched] = rules
                yield Finding(
                    detector=DETECTOR,
                    char_start=g,
                    char_end=base + e,
                    term=entry.term,
                    matched=matched,
                    category=entry.category or info.category,
                    severity=entry.severity or info.severity,
                    rules=sorted({*rules, *ref.rules}) if ref.rules else list(rules),
                    values={
                        "list": info.name,
                        "list_id": str(info.id),
                        "list_kind": info.kind,
                        "entry_id": str(entry.id),
                        "list_version": info.version,
                        "normalized": key.replace(_NOISE_CH, " "),
                    },
                )

    def hotwords(self, limit: int = 100) -> list[str]:
        """Enabled terms, most severe first (vocabulary hints for speech recognition)."""
        from core.events import SEVERITY_RANK

        ranked: list[tuple[int, str]] = []
        for info in self.lists:
            if info.kind not in ("keyword", "person", "title"):
                continue
            for entry in self.snapshot.entries.get(info.id, []):
                if entry.enabled:
                    sev = entry.severity or info.severity
                    ranked.append((-SEVERITY_RANK.get(sev, 0), entry.term))
        ranked.sort()
        out: list[str] = []
        seen: set[str] = set()
        for _, term in ranked:
            if term not in seen:
                seen.add(term)
                out.append(term)
                if len(out) >= limit:
                    break
        return out


def hit_json(f: Finding) -> dict[str, Any]:
    """A hit as `qinglang match --json` prints it (DESIGN.md contract: list, entry_id, term, matched,
    start, end, category, severity, rules), plus list_id, list_version and normalized."""
    v = f.values
    return {
        "list": v.get("list"), "list_id": v.get("list_id"), "list_version": v.get("list_version"),
        "entry_id": v.get("entry_id"), "term": f.term, "matched": f.matched, "normalized": v.get("normalized"),
        "start": f.char_start, "end": f.char_end, "category": f.category, "severity": f.severity,
        "rules": list(f.rules), "detector": f.detector,
    }  # fmt: skip


def _order(f: Finding) -> tuple[Any, ...]:
    return (f.char_start, f.char_end, f.values.get("list", ""), f.values.get("entry_id", ""))
