"""Language standards (规范使用语言文字) in subtitles, on-screen text and pages.

Three rules, all low severity in category "language-standard", with character
offsets into the text:
- "traditional": traditional characters where simplified ones are required
  (the text differs from its OpenCC t2s conversion there);
- "misused": entries of a misused-word list (wrong form -> standard form);
- "nonstandard": non-standard expressions (internet slang and the like).
Both lists are plain text files (``term<TAB>suggestion``, ``#`` comments);
small defaults ship in detectors/data/ and a source may name its own.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from core.errors import BadInput
from detectors.base import TEXT, Detector, Example, Finding
from detectors.qos._base import make_options

DATA = Path(__file__).with_name("data")
_CONVERTER: Any = None
_LOCK = threading.Lock()


@dataclass
class LanguageOptions:
    traditional: bool = True
    misused_list: str | None = None  # path; default detectors/data/language_misused.txt
    nonstandard_list: str | None = None  # path; default detectors/data/language_nonstandard.txt


def _t2s(text: str) -> str:
    global _CONVERTER
    with _LOCK:
        if _CONVERTER is None:
            import opencc

            _CONVERTER = opencc.OpenCC("t2s")
        return _CONVERTER.convert(text)


def load_pairs(path: str | Path) -> dict[str, str]:
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise BadInput(f"language list {p} does not exist", hint="check the path in the source settings") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"language list {p} is not UTF-8", hint="save it as UTF-8") from exc
    out: dict[str, str] = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        term, _, suggestion = line.partition("\t")
        if term.strip():
            out[term.strip()] = suggestion.strip()
    return out


class LanguageDetector(Detector):
    name: ClassVar[str] = "language"
    kinds: ClassVar[tuple[str, ...]] = (TEXT,)
    description: ClassVar[str] = "traditional characters, misused words, non-standard expressions"

    def __init__(self, options: LanguageOptions | dict | None = None) -> None:
        self.options: LanguageOptions = make_options(LanguageOptions, options)
        self.misused = load_pairs(self.options.misused_list or DATA / "language_misused.txt")
        self.nonstandard = load_pairs(self.options.nonstandard_list or DATA / "language_nonstandard.txt")

    def _finding(self, rule: str, start: int, end: int, text: str, term: str, suggestion: str) -> Finding:
        return Finding(detector=self.name, char_start=start, char_end=end, term=term, matched=text[start:end],
                       category="language-standard", severity="low", rules=[rule],
                       values={"rule": rule, "suggestion": suggestion})

    def traditional(self, text: str) -> list[Finding]:
        simple = _t2s(text)
        if simple == text:
            return []
        out = []
        ops = difflib.SequenceMatcher(None, text, simple, autojunk=False).get_opcodes()
        for tag, i1, i2, j1, j2 in ops:
            if tag != "equal" and i2 > i1:
                out.append(self._finding("traditional", i1, i2, text, text[i1:i2], simple[j1:j2]))
        return out

    @staticmethod
    def _occurrences(text: str, table: dict[str, str]) -> list[tuple[int, int, str, str]]:
        found = []
        for term, suggestion in table.items():
            i = text.find(term)
            while i >= 0:
                found.append((i, i + len(term), term, suggestion))
                i = text.find(term, i + len(term))
        return found

    def detect(self, text: str) -> list[Finding]:
        """Findings in ``text``, ordered by offset."""
        out = self.traditional(text) if self.options.traditional else []
        for rule, table in (("misused", self.misused), ("nonstandard", self.nonstandard)):
            out += [self._finding(rule, a, b, text, term, sug) for a, b, term, sug in self._occurrences(text, table)]
        return sorted(out, key=lambda f: (f.char_start or 0, f.char_end or 0))

    @classmethod
    def examples(cls) -> list[Example]:
        return [
            Example("traditional", "欢迎收看這個节目",
                    [{"detector": "language", "char_start": 4, "char_end": 6, "rule": "traditional"}]),
            Example("misused", "我们要再接再励", [{"term": "再接再励", "char_start": 3, "char_end": 7,
                                                 "suggestion": "再接再厉"}]),
            Example("slang", "你有木有看到", [{"term": "有木有", "rule": "nonstandard"}]),
            Example("clean", "今天天气很好", []),
        ]

    @classmethod
    def run_example(cls, example: Example) -> list[Finding]:
        return cls(example.options or None).detect(example.input)
