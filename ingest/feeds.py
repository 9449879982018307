"""App items, comments and bullet comments: JSON-lines files and declarative HTTP JSON connectors.

Each item becomes one ``comment`` sample (sources of kind ``comments``) or
``text`` sample (apps), with the text inline and metadata ``account``,
``item_id``, ``url``, ``title``, ``program``, ``published_at`` where mapped.
Items are deduplicated by id: an item seen before with the same text produces
nothing (an edited one produces a new sample). A malformed line or item is
reported with its line number (or page and position) and skipped; the rest go on.

Connector options (``source.options``; the locator is the URL, which may hold
``{page}`` / ``{cursor}`` placeholders):

    items   = "data.list"                      # dotted path to the item list
    fields  = {id = "id", text = "content", account = "user.name", url = "link"}
    paging  = {type = "cursor", param = "cursor", next = "data.next_cursor", max_pages = 100}
            | {type = "page", param = "page", start = 1, max_pages = 100}
    auth    = {header = "Authorization", setting = "weibo_token", prefix = "Bearer "}
    headers = {...}; params = {...}; sample_kind = "comment" | "text"; timeout = 15

The auth value comes from the settings field named by ``setting`` (config file
or ``QINGLANG_<SETTING>``), never from the source record.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Generator, Iterable, Iterator
from urllib.parse import quote

import httpx

from core.errors import BadInput, ConfigError
from core.events import Sample, SampleKind, Source, SourceKind, make_id, utcnow
from ingest.base import IngestContext, SourcePlugin, digest, local_path, locator_scheme, register

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
DEFAULT_FIELDS = {
    "id": "id", "text": "text", "account": "account", "url": "url", "title": "title",
    "program": "program", "published_at": "published_at",
}
_MISSING = object()


def pick(obj: Any, path: str) -> Any:
    """Value at a dotted path (``user.name``, ``items.0.id``) or _MISSING."""
    cur = obj
    for part in path.split(".") if path else []:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.lstrip("-").isdigit() and -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


class FeedReader:
    def __init__(self, source: Source, ctx: IngestContext) -> None:
        self.source = source
        self.ctx = ctx
        self.opt: dict[str, Any] = dict(source.options or {})
        self.fields = {**DEFAULT_FIELDS, **(self.opt.get("fields") or {})}
        default_kind = SampleKind.COMMENT if source.kind == SourceKind.COMMENTS else SampleKind.TEXT
        self.kind = SampleKind(self.opt.get("sample_kind", default_kind))
        self.skipped = 0
        self.duplicates = 0

    # -- items ------------------------------------------------------------------
    def item_sample(self, item: Any, where: str) -> Sample | None:
        if not isinstance(item, dict):
            self._bad(where, f"item is a {type(item).__name__}, not an object")
            return None
        item_id = pick(item, self.fields["id"])
        text = pick(item, self.fields["text"])
        if item_id is _MISSING or item_id in (None, ""):
            self._bad(where, f"item has no id (field {self.fields['id']!r})")
            return None
        if text is _MISSING or not isinstance(text, str) or not text.strip():
            self._bad(where, f"item {item_id} has no text (field {self.fields['text']!r})")
            return None
        item_id = str(item_id)
        content = digest(text)
        if not self.ctx.state.changed(self.source.id, "item:" + item_id, content):
            self.duplicates += 1
            return None
        meta: dict[str, Any] = {"item_id": item_id}
        for name, path in self.fields.items():
            if name in ("id", "text"):
                continue
            value = pick(item, path)
            if value is not _MISSING and value is not None:
                meta[name] = value if isinstance(value, (str, int, float, bool)) else json.dumps(value, ensure_ascii=False)
        return Sample(
            id=make_id("smp", self.source.id, self.kind.value, item_id, content),
            source_id=self.source.id,
            kind=self.kind,
            captured_at=utcnow(),
            text=text,
            metadata=meta,
        )

    def _bad(self, where: str, reason: str) -> None:
        self.skipped += 1
        self.ctx.report_error(self.source, f"{where}: {reason}; skipped")

    def lines(self, lines: Iterable[str], origin: str) -> Iterator[Sample]:
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                self._bad(f"{origin} line {n}", f"malformed JSON ({getattr(exc, 'msg', exc)})")
                continue
            sample = self.item_sample(item, f"{origin} line {n}")
            if sample is not None:
                yield sample

    # -- sources ----------------------------------------------------------------
    def file(self) -> Iterator[Sample]:
        path = Path(local_path(self.source.locator))
        try:
            fh = path.open("r", encoding="utf-8-sig", errors="strict", newline="")
        except OSError as exc:
            raise BadInput(f"cannot read feed file {path}: {exc.strerror}", hint="check the source's locator") from exc
        with fh:
            try:
                yield from self.lines(fh, str(path))
            except UnicodeDecodeError as exc:
                raise BadInput(f"feed file {path} is not UTF-8 ({exc.reason})", hint="convert it to UTF-8") from exc

    def _auth_headers(self) -> dict[str, str]:
        auth = self.opt.get("auth")
        if not auth:
            return {}
        name = str(auth.get("setting", ""))
        value = getattr(self.ctx.settings, name, None) if self.ctx.settings is not None and name else None
        if value is None and name:
            value = (getattr(self.ctx.settings, "model_extra", None) or {}).get(name)
        if value is None and name:
            value = os.environ.get("QINGLANG_" + name.upper())
        if not value:
            raise ConfigError(
                f"feed source {self.source.id} needs the setting {name!r} for its auth header",
                hint=f"set {name} in the config file or QINGLANG_{name.upper()} in the environment",
            )
        return {str(auth.get("header", "Authorization")): f"{auth.get('prefix', '')}{value}"}

    def _url(self, page: int | None, cursor: str | None, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        url = self.source.locator
        paging = self.opt.get("paging") or {}
        param = paging.get("param", "cursor" if paging.get("type") == "cursor" else "page")
        if page is not None:
            if "{page}" in url:
                url = url.replace("{page}", str(page))
            else:
                params = {**params, param: page}
        if "{cursor}" in url:
            url = url.replace("{cursor}", quote(cursor or "", safe=""))
        elif cursor:
            params = {**params, param: cursor}
        return url, params

    def http(self) -> Iterator[Sample]:
        paging = self.opt.get("paging") or {}
        kind = paging.get("type")
        max_pages = int(paging.get("max_pages", 100))
        headers = {**(self.opt.get("headers") or {}), **self._auth_headers()}
        page = int(paging.get("start", 1)) if kind == "page" else None
        cursor: str | None = paging.get("initial")
        seen_cursors: set[str] = set()
        with httpx.Client(timeout=float(self.opt.get("timeout", 15)), headers=headers, follow_redirects=True) as client:
            for n in range(1, max_pages + 1):
                if self.ctx.should_stop():
                    return
                url, params = self._url(page, cursor, dict(self.opt.get("params") or {}))
                where = f"page {n} ({url})"
                body = self._get(client, url, params, where)
                if body is None:
                    return
                produced, doc = yield from self._page(body, where)
                if kind == "page":
                    if produced == 0:
                        return
                    page = (page or 0) + 1
                elif kind == "cursor":
                    nxt = pick(doc, paging.get("next", "next_cursor")) if doc is not None else _MISSING
                    if nxt is _MISSING or nxt in (None, "", False) or str(nxt) in seen_cursors:
                        return
                    cursor = str(nxt)
                    seen_cursors.add(cursor)
                else:
                    return

    def _get(self, client: httpx.Client, url: str, params: dict, where: str) -> str | None:
        for attempt in range(3):
            try:
                resp = client.get(url, params=params)
            except httpx.HTTPError as exc:
                reason = f"request failed ({type(exc).__name__})"
            else:
                if resp.status_code < 400:
                    return resp.text
                reason = f"HTTP {resp.status_code}"
                if resp.status_code < 500:
                    break
            if self.ctx.sleep(0.2 * 2**attempt):
                break
        self.ctx.report_error(self.source, f"{where}: {reason}; feed read stopped")
        return None

    def _page(self, body: str, where: str) -> Generator[Sample, None, tuple[int, Any]]:
        """Yields the page's samples; returns (items seen, parsed document or None)."""
        try:
            doc = json.loads(body)
        except ValueError:
            count = 0
            for sample in self.lines(body.splitlines(), where):
                count += 1
                yield sample
            return count, None
        items = pick(doc, self.opt["items"]) if self.opt.get("items") else doc
        if isinstance(items, dict):
            items = next((items[k] for k in ("items", "data", "list", "results") if isinstance(items.get(k), list)), [])
        if not isinstance(items, list):
            self.ctx.report_error(self.source, f"{where}: no item list at {self.opt.get('items', '(document)')!r}")
            return 0, doc
        for i, item in enumerate(items):
            made = self.item_sample(item, f"{where} item {i}")
            if made is not None:
                yield made
        return len(items), doc


class FeedPlugin(SourcePlugin):
    name = "feeds"
    kinds = (SourceKind.APP, SourceKind.COMMENTS, SourceKind.FILE)

    def accepts(self, source: Source) -> bool:
        scheme = locator_scheme(source.locator)
        if source.kind == SourceKind.FILE:
            return scheme == "file" and local_path(source.locator).lower().endswith(JSONL_SUFFIXES)
        return scheme in ("file", "http", "https")

    def samples(self, source: Source, ctx: IngestContext) -> Iterator[Sample]:
        reader = FeedReader(source, ctx)
        if locator_scheme(source.locator) == "file":
            yield from reader.file()
        else:
            yield from reader.http()


register(FeedPlugin())
