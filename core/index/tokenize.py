"""Chinese tokenization for full-text search (jieba, search mode).

``tokens(text)`` is pure and deterministic: the embedded index stores the
tokens at write time and tokenizes queries the same way; the Elasticsearch
adapter indexes the same tokens joined by spaces, so both find the same hits.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

_lock = threading.Lock()
_jieba = None


def warm_up() -> None:
    """Load jieba's dictionary now (about 1 s) rather than inside the first write or query."""
    _load()


def _load():  # type: ignore[no-untyped-def]
    """Import and initialise jieba once, without its start-up chatter."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def _searchable(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


@lru_cache(maxsize=4096)
def _cached(text: str) -> tuple[str, ...]:
    jieba = _load()
    seen: dict[str, None] = {}
    for raw in jieba.cut_for_search(text):
        tok = raw.strip().lower()
        if tok and _searchable(tok) and tok not in seen:
            seen[tok] = None
    return tuple(seen)


def tokens(text: str | None) -> list[str]:
    """Search-mode tokens of ``text``: lowercase, no punctuation or spaces, first occurrence order.

    Example: ``tokens("该网站提供网络赌博服务")`` -> ``["该", "网站", "提供", "网络", "赌博", "服务"]``.
    Recent texts are cached: one page or comment often yields several hits.
    """
    if not text:
        return []
    return list(_cached(text))


def token_string(*texts: str | None) -> str:
    """Tokens of several texts joined by single spaces (what the indexes store)."""
    out: dict[str, None] = {}
    for text in texts:
        for tok in tokens(text):
            out.setdefault(tok, None)
    return " ".join(out)
