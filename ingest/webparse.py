"""Pure helpers of the crawler: decode bytes, extract visible text and metadata, read sitemaps/feeds."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser as HTMLParser

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)
_HIDDEN = ("script", "style", "noscript", "template", "svg", "iframe", "object", "head")
_ALIASES = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb18030": "gb18030", "cp936": "gb18030",
    "big5": "big5hkscs", "big5-hkscs": "big5hkscs", "x-big5": "big5hkscs", "cp950": "big5hkscs",
    "utf8": "utf-8",
}
# JSON-LD types that describe a programme
_PROGRAM_TYPES = {"TVEpisode", "TVSeries", "TVSeason", "Movie", "VideoObject", "BroadcastEvent", "Episode", "CreativeWork"}


def _norm_charset(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().strip("\"'").lower()
    return _ALIASES.get(name, name)


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """(text, encoding used): HTTP charset, then <meta charset>, then UTF-8, then GB18030."""
    candidates: list[str] = []
    if content_type and "charset=" in content_type.lower():
        candidates.append(content_type.lower().split("charset=", 1)[1].split(";")[0])
    if body.startswith(b"\xef\xbb\xbf"):
        candidates.insert(0, "utf-8-sig")
    m = _META_CHARSET.search(body[:4096])
    if m:
        candidates.append(m.group(1).decode("ascii", "ignore"))
    candidates += ["utf-8", "gb18030"]
    for cand in candidates:
        enc = _norm_charset(cand)
        if not enc:
            continue
        try:
            return body.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", errors="replace"), "utf-8"


@dataclass
class Page:
    title: str
    text: str
    links: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


def _jsonld_program(tree: HTMLParser) -> dict[str, Any]:
    for node in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(node.text() or "")
        except ValueError:
            continue
        items = data if isinstance(data, list) else data.get("@graph", [data]) if isinstance(data, dict) else []
        for item in items:
            if not isinstance(item, dict):
                continue
            types = item.get("@type")
            types = set(types) if isinstance(types, list) else {types}
            if types & _PROGRAM_TYPES and item.get("name"):
                out = {"program": str(item["name"]), "program_type": sorted(t for t in types if t)[0]}
                series = item.get("partOfSeries")
                if isinstance(series, dict) and series.get("name"):
                    out["series"] = str(series["name"])
                return out
    return {}


def extract(html: str, url: str) -> Page:
    """Visible text, title, links (absolute, no fragment) and programme metadata."""
    tree = HTMLParser(html)
    meta: dict[str, Any] = {}
    for node in tree.css("meta"):
        key = (node.attributes.get("property") or node.attributes.get("name") or "").lower()
        content = node.attributes.get("content")
        if not content:
            continue
        if key in ("description", "keywords", "og:title", "og:type", "og:video", "og:site_name", "author"):
            meta[key.replace("og:", "og_")] = content.strip()
        elif key in ("program", "programme", "video:series", "og:video:series"):
            meta["program"] = content.strip()
    meta.update({k: v for k, v in _jsonld_program(tree).items() if k not in meta})
    title_node = tree.css_first("title")
    title = (title_node.text(strip=True) if title_node else "") or meta.get("og_title", "")
    links: list[str] = []
    for a in tree.css("a[href]"):
        href = (a.attributes.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "tel:", "#")):
            continue
        absolute = urldefrag(urljoin(url, href))[0]
        if urlsplit(absolute).scheme in ("http", "https"):
            links.append(absolute)
    for tag in _HIDDEN:
        for node in tree.css(tag):
            node.decompose()
    body = tree.body or tree.root
    raw = body.text(separator="\n", strip=True) if body is not None else ""
    lines = [re.sub(r"[ \t\u3000]+", " ", ln).strip() for ln in raw.splitlines()]
    text = "\n".join(ln for ln in lines if ln)
    return Page(title=title, text=text, links=list(dict.fromkeys(links)), metadata=meta)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def parse_xml_links(body: bytes) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) from a sitemap, sitemap index, RSS or Atom document."""
    if b"<!DOCTYPE" in body[:2048].upper() or b"<!ENTITY" in body[:4096].upper():
        raise ValueError("XML with a DTD is not accepted")
    root = ET.fromstring(body)
    kind = _local(root.tag)
    pages: list[str] = []
    nested: list[str] = []
    if kind == "sitemapindex":
        nested = [(e.text or "").strip() for e in root.iter() if _local(e.tag) == "loc"]
    elif kind == "urlset":
        pages = [(e.text or "").strip() for e in root.iter() if _local(e.tag) == "loc"]
    elif kind in ("rss", "rdf"):
        for item in root.iter():
            if _local(item.tag) == "item":
                link = next((c for c in item if _local(c.tag) == "link"), None)
                text = (link.text or "").strip() if link is not None else ""
                if text:
                    pages.append(text)
    elif kind == "feed":  # Atom
        for entry in root.iter():
            if _local(entry.tag) != "entry":
                continue
            for link in entry:
                if _local(link.tag) == "link" and link.get("rel", "alternate") == "alternate" and link.get("href"):
                    pages.append(link.get("href", "").strip())
                    break
    else:
        raise ValueError(f"not a sitemap or feed (root element <{kind}>)")
    return [p for p in pages if p], [n for n in nested if n]
