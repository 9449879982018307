"""Language standards: traditional characters, misused words, non-standard expressions, offsets."""

from __future__ import annotations

import pytest

from core.errors import BadInput
from detectors.language import LanguageDetector


def test_examples():
    for ex in LanguageDetector.examples():
        found = LanguageDetector.run_example(ex)
        assert len(found) == len(ex.expect), ex.name
        for f, e in zip(found, ex.expect, strict=True):
            d = f.to_json()
            assert all(d.get(k) == v for k, v in e.items()), (ex.name, d)


def test_traditional_offsets_point_at_the_characters():
    text = "今晚播出：這是網絡節目"
    found = LanguageDetector().detect(text)
    assert found and all(f.category == "language-standard" and f.severity == "low" for f in found)
    for f in found:
        assert text[f.char_start : f.char_end] == f.matched
    assert "".join(f.matched for f in found) == "這網絡節"
    assert [f.values["suggestion"] for f in found] == ["这", "网络节"]


def test_simplified_text_is_clean_and_misused_words_found():
    det = LanguageDetector()
    assert det.detect("欢迎收看新闻联播，著名演员出席") == []
    found = det.detect("他迫不急待地说神马都是浮云")
    assert [(f.values["rule"], f.term, f.values["suggestion"]) for f in found] == [
        ("misused", "迫不急待", "迫不及待"), ("nonstandard", "神马", "什么")]


def test_custom_lists(tmp_path):
    mis = tmp_path / "mis.txt"
    mis.write_text("# comment\n\n帐号\t账号\n", encoding="utf-8")
    det = LanguageDetector({"misused_list": str(mis), "traditional": False})
    found = det.detect("请输入帐号，有木有")
    assert [f.term for f in found] == ["帐号", "有木有"]
    with pytest.raises(BadInput, match="does not exist"):
        LanguageDetector({"misused_list": str(tmp_path / "none.txt")})
