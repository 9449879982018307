"""The "keyword" detector: text against the negative lists, evasions included.

A thin shell over ``detectors.matcher`` so the registry and the shared
example tests see it; stream jobs usually hold a ``LiveMatcher`` instead and
call ``live.current().match(text)`` directly (same findings).
"""

from __future__ import annotations

from typing import Any, ClassVar

from detectors.base import TEXT, Detector, Example, Finding

_EXAMPLE_TERMS = ["赌博", "六合彩", "vpn", "bet", "黄片", "一夜情"]


def _hit(term: str, start: int, end: int, matched: str, rules: list[str], **more: Any) -> dict[str, Any]:
    out = {"detector": "keyword", "term": term, "char_start": start, "char_end": end, "matched": matched,
           "list": "example", **more}  # fmt: skip
    if rules:  # Finding.to_json leaves out an empty rule list
        out["rules"] = rules
    return out


class KeywordDetector(Detector):
    name: ClassVar[str] = "keyword"
    kinds: ClassVar[tuple[str, ...]] = (TEXT,)
    description: ClassVar[str] = "negative-list terms in text (evasion-resistant: width, case, 繁简, numerals, noise, pinyin)"

    def __init__(self, matcher: Any) -> None:
        """``matcher``: a Matcher, or a LiveMatcher (its current automaton is used per call)."""
        self._source = matcher

    def detect(self, text: str) -> list[Finding]:
        m = self._source.current() if hasattr(self._source, "current") else self._source
        return m.match(text)

    @staticmethod
    def example_matcher(options: dict[str, Any] | None = None) -> Any:
        """A matcher over a small in-memory list (``terms``, ``pinyin``, ``allow``, ``list_options``)."""
        from detectors.lists.memory import MemoryListStore
        from detectors.lists.types import EntryIn
        from detectors.matcher.matcher import Matcher

        opts = dict(options or {})
        store = MemoryListStore()
        store.create_list("example", "keyword", "gambling", "high", options=opts.get("list_options"))
        pinyin = set(opts.get("pinyin", ["赌博"]))
        terms = opts.get("terms", _EXAMPLE_TERMS)
        store.upsert_entries("example", [EntryIn(t, pinyin=t in pinyin) for t in terms])
        for phrase in opts.get("allow", []):
            store.add_allow(phrase, None)
        return Matcher(store.snapshot())

    @classmethod
    def run_example(cls, example: Example) -> list[Finding]:
        return cls(cls.example_matcher(example.options)).detect(example.input)

    @classmethod
    def examples(cls) -> list[Example]:
        return [
            Example("plain", "这里有赌博网站", [_hit("赌博", 3, 5, "赌博", [], category="gambling", severity="high")]),
            Example("case", "免费VPN下载", [_hit("vpn", 2, 5, "VPN", ["case"])]),
            Example("width", "免费ｖｐｎ下载", [_hit("vpn", 2, 5, "ｖｐｎ", ["width"])]),
            Example("compat", "免费ⓥⓟⓝ下载", [_hit("vpn", 2, 5, "ⓥⓟⓝ", ["compat"])]),
            Example("traditional", "這裡有賭博", [_hit("赌博", 3, 5, "賭博", ["t2s"])]),
            Example("numeral-traditional", "買陸合彩", [_hit("六合彩", 1, 4, "陸合彩", ["numeral", "t2s"])]),
            Example("numeral-circled", "买⑥合彩", [_hit("六合彩", 1, 4, "⑥合彩", ["compat", "numeral"])]),
            Example("numeral-financial", "壹夜情", [_hit("一夜情", 0, 3, "壹夜情", ["numeral"])]),
            Example("noise-symbol", "赌*博", [_hit("赌博", 0, 3, "赌*博", ["noise"])]),
            Example("noise-zero-width", "赌\u200b博", [_hit("赌博", 0, 3, "赌\u200b博", ["noise"])]),
            Example("noise-emoji", "来赌😀博", [_hit("赌博", 1, 4, "赌😀博", ["noise"])]),
            Example("repeat", "赌赌赌博", [_hit("赌博", 0, 4, "赌赌赌博", ["repeat"])]),
            Example("pinyin", "来du bo吧", [_hit("赌博", 1, 6, "du bo", ["noise", "pinyin"])]),
            Example("homophone", "去堵博", [_hit("赌博", 1, 3, "堵博", ["homophone"])]),
            Example("whole-word", "I bet you", [_hit("bet", 2, 5, "bet", [])]),
            Example("whole-word-negative", "alphabet soup", []),
            Example("allow-list", "三黄片是一种说法", [], {"allow": ["三黄片"]}),
            Example("split-across-sentences", "我不赌。博物馆开门了", []),
            Example("noise-gap-too-wide", "赌 . . . . 博", []),
            Example("unrelated", "今天天气很好，我们去公园散步", []),
        ]
