"""A polite crawler for licensed websites (httpx + selectolax).

One crawl of a source starts at its locator, adds the URLs of its sitemaps
(from robots.txt and ``options["sitemaps"]``) and RSS/Atom feeds
(``options["feeds"]``) and follows links breadth-first up to ``depth``.

Politeness: robots.txt is obeyed (``QinglangBot``; Crawl-delay honoured; an
unreachable robots.txt (5xx) means "disallow all" for this crawl), requests
to one host are spaced by ``1/rate`` seconds and at most ``concurrency`` run at
once across every source of this process.

A page becomes a ``page`` sample (``text`` = visible text, metadata url, title,
encoding, programme metadata) only when its content hash changed since the last
crawl. Error pages (4xx/5xx), timeouts, redirect loops and non-HTML answers are
counted and reported with the source id, never sampled.

Options: ``depth`` (1), ``max_pages`` (200), ``include``/``exclude`` (regexes),
``same_host`` (true), ``rate`` (requests/s per host, 1), ``concurrency`` (2),
``timeout`` (15 s), ``max_bytes`` (5 MB), ``sitemaps``, ``feeds``, ``headers``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib import robotparser
from urllib.parse import urljoin, urlsplit

import httpx

from core.errors import BadInput
from core.events import Sample, SampleKind, Source, SourceKind, make_id, utcnow
from ingest.base import IngestContext, SourcePlugin, digest, local_path, locator_scheme, register
from ingest.webparse import decode_html, extract, parse_xml_links

USER_AGENT = "QinglangBot/0.1 (+content monitoring of licensed platforms)"
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")


class HostLimiter:
    """Per-host spacing and concurrency, shared by every crawl in the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[threading.Semaphore, list[float]]] = {}

    @contextmanager
    def slot(self, host: str, interval: float, concurrency: int) -> Iterator[None]:
        with self._lock:
            sem, last = self._hosts.setdefault(host, (threading.Semaphore(max(1, concurrency)), [0.0]))
        with sem:
            with self._lock:
                wait = last[0] + interval - time.monotonic()
                last[0] = max(time.monotonic(), last[0] + interval)
            if wait > 0:
                time.sleep(wait)
            yield


LIMITER = HostLimiter()


@dataclass
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes


@dataclass
class CrawlStats:
    fetched: int = 0
    sampled: int = 0
    unchanged: int = 0
    errors: int = 0
    disallowed: int = 0
    skipped: int = 0
    error_urls: list[str] = field(default_factory=list)


class Crawl:
    def __init__(self, source: Source, ctx: IngestContext) -> None:
        self.source = source
        self.ctx = ctx
        o = dict(source.options or {})
        self.opt = o
        self.depth = int(o.get("depth", 1))
        self.max_pages = int(o.get("max_pages", 200))
        self.include = [re.compile(p) for p in o.get("include", [])]
        self.exclude = [re.compile(p) for p in o.get("exclude", [])]
        self.same_host = bool(o.get("same_host", True))
        self.interval = 1.0 / max(float(o.get("rate", 1.0)), 0.001)
        self.concurrency = int(o.get("concurrency", 2))
        self.max_bytes = int(o.get("max_bytes", 5 * 1024 * 1024))
        self.total_timeout = 4 * float(o.get("timeout", 15.0))  # a trickling server cannot hold the crawl
        self.hosts = {urlsplit(source.locator).netloc.lower()}
        self.robots: dict[str, robotparser.RobotFileParser | None] = {}
        self.stats = CrawlStats()
        ctx.extras.setdefault("web_stats", {})[source.id] = self.stats
        self.client = httpx.Client(
            timeout=float(o.get("timeout", 15.0)),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, **(o.get("headers") or {})},
        )

    def error(self, url: str, reason: str) -> None:
        self.stats.errors += 1
        if len(self.stats.error_urls) < 100:
            self.stats.error_urls.append(url)
        self.ctx.report_error(self.source, f"{reason}: {url}")

    # -- fetching ---------------------------------------------------------------
    def _get(self, url: str) -> httpx.Response:
        host = urlsplit(url).netloc.lower()
        with LIMITER.slot(host, self.interval, self.concurrency):
            started = time.monotonic()
            with self.client.stream("GET", url) as resp:
                chunks, size = [], 0
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise BadInput(f"answer larger than {self.max_bytes} bytes", hint="raise max_bytes")
                    if time.monotonic() - started > self.total_timeout:
                        raise httpx.ReadTimeout(f"answer took longer than {self.total_timeout:.0f}s")
                    chunks.append(chunk)
                resp._content = b"".join(chunks)  # noqa: SLF001 - keep the bounded body
                return resp

    def _robots(self, url: str) -> robotparser.RobotFileParser | None:
        parts = urlsplit(url)
        base = f"{parts.scheme}://{parts.netloc}"
        if base not in self.robots:
            rp = robotparser.RobotFileParser()
            try:
                resp = self._get(base + "/robots.txt")
                if resp.status_code >= 500:
                    self.error(base + "/robots.txt", f"robots.txt answered HTTP {resp.status_code}; crawl held")
                    rp.disallow_all = True  # type: ignore[attr-defined]  # real attribute; typeshed omits it
                elif resp.status_code >= 400:
                    rp.allow_all = True  # type: ignore[attr-defined]  # real attribute; typeshed omits it
                else:
                    rp.parse(decode_html(resp.content, resp.headers.get("content-type"))[0].splitlines())
            except (httpx.HTTPError, BadInput) as exc:
                self.error(base + "/robots.txt", f"robots.txt unreachable ({type(exc).__name__}); crawl held")
                rp.disallow_all = True  # type: ignore[attr-defined]  # real attribute; typeshed omits it
            self.robots[base] = rp
            delay = rp.crawl_delay(USER_AGENT)
            if delay:
                self.interval = max(self.interval, float(delay))
        return self.robots[base]

    def allowed(self, url: str) -> bool:
        rp = self._robots(url)
        return rp is None or rp.can_fetch(USER_AGENT, url)

    def fetch(self, url: str) -> Fetched | None:
        """Follow redirects (loop-safe, robots-checked); None after counting an error."""
        seen, start = {url}, url
        for _ in range(MAX_REDIRECTS + 1):
            if not self.allowed(url):
                self.stats.disallowed += 1
                return None
            try:
                resp = self._get(url)
            except httpx.TimeoutException:
                self.error(url, "timed out")
                return None
            except (httpx.HTTPError, BadInput) as exc:
                self.error(url, f"fetch failed ({type(exc).__name__}: {exc})")
                return None
            self.stats.fetched += 1
            if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                nxt = urljoin(url, resp.headers["location"])
                if nxt in seen:
                    self.error(start, f"redirect loop (back to {nxt} from {url})")
                    return None
                seen.add(nxt)
                url = nxt
                continue
            if resp.status_code >= 400:
                self.error(url, f"HTTP {resp.status_code}")
                return None
            ctype = resp.headers.get("content-type", "")
            return Fetched(url, resp.status_code, ctype, resp.content)
        self.error(start, f"more than {MAX_REDIRECTS} redirects")
        return None

    # -- discovery --------------------------------------------------------------
    def wanted(self, url: str) -> bool:
        if self.same_host and urlsplit(url).netloc.lower() not in self.hosts:
            return False
        if self.include and not any(p.search(url) for p in self.include):
            return False
        return not any(p.search(url) for p in self.exclude)

    def discovered(self) -> list[str]:
        """Page URLs from sitemaps (robots.txt + options) and RSS/Atom feeds."""
        start = self.source.locator
        rp = self._robots(start)
        docs = list(self.opt.get("sitemaps", [])) + list(self.opt.get("feeds", []))
        if rp is not None and rp.site_maps():
            docs = list(rp.site_maps() or []) + docs
        pages: list[str] = []
        seen: set[str] = set()
        while docs and len(seen) < 20:
            doc = urljoin(start, docs.pop(0))
            if doc in seen:
                continue
            seen.add(doc)
            got = self.fetch(doc)
            if got is None:
                continue
            try:
                found, nested = parse_xml_links(got.body)
            except (ValueError, SyntaxError) as exc:
                self.error(doc, f"not a readable sitemap or feed ({exc})")
                continue
            pages += [urljoin(doc, p) for p in found]
            docs += nested
        return pages

    # -- the crawl --------------------------------------------------------------
    def run(self) -> Iterator[Sample]:
        try:
            queue: deque[tuple[str, int]] = deque([(self.source.locator, 0)])
            queue.extend((u, 0) for u in self.discovered() if self.wanted(u))
            seen: set[str] = set()
            while queue and len(seen) < self.max_pages and not self.ctx.should_stop():
                url, depth = queue.popleft()
                if url in seen:
                    continue
                seen.add(url)
                got = self.fetch(url)
                if got is None:
                    continue
                if got.content_type.split(";")[0].strip().lower() not in HTML_TYPES and got.content_type:
                    self.stats.skipped += 1
                    continue
                text, encoding = decode_html(got.body, got.content_type)
                page = extract(text, got.url)
                sample = self.page_sample(got.url, page, encoding, depth)
                if sample is not None:
                    yield sample
                if depth < self.depth:
                    queue.extend((u, depth + 1) for u in page.links if u not in seen and self.wanted(u))
        finally:
            self.client.close()

    def page_sample(self, url: str, page: Any, encoding: str, depth: int) -> Sample | None:
        content = digest(page.title, page.text)
        if not self.ctx.state.changed(self.source.id, "page:" + url, content):
            self.stats.unchanged += 1
            return None
        self.stats.sampled += 1
        return page_to_sample(self.source, url, page, content, {"encoding": encoding, "depth": depth})


def page_to_sample(source: Source, url: str, page: Any, content: str, extra: dict[str, Any]) -> Sample:
    return Sample(
        id=make_id("smp", source.id, SampleKind.PAGE.value, url, content),
        source_id=source.id,
        kind=SampleKind.PAGE,
        captured_at=utcnow(),
        text=page.text,
        metadata={"url": url, "title": page.title, "content_hash": content, **page.metadata, **extra},
    )


class WebPlugin(SourcePlugin):
    name = "web"
    kinds = (SourceKind.WEBSITE, SourceKind.FILE)

    def accepts(self, source: Source) -> bool:
        scheme = locator_scheme(source.locator)
        if source.kind == SourceKind.WEBSITE:
            return scheme in ("http", "https", "file")
        return scheme == "file" and local_path(source.locator).lower().endswith((".html", ".htm"))

    def samples(self, source: Source, ctx: IngestContext) -> Iterator[Sample]:
        if locator_scheme(source.locator) == "file":
            yield from self._local(source, ctx)
            return
        yield from Crawl(source, ctx).run()

    def _local(self, source: Source, ctx: IngestContext) -> Iterator[Sample]:
        path = Path(local_path(source.locator))
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise BadInput(f"cannot read page {path}: {exc.strerror}", hint="check the source's locator") from exc
        text, encoding = decode_html(body, None)
        page = extract(text, path.resolve().as_uri())
        content = digest(page.title, page.text)
        url = path.resolve().as_uri()
        if ctx.state.changed(source.id, "page:" + url, content):
            yield page_to_sample(source, url, page, content, {"encoding": encoding, "depth": 0})


register(WebPlugin())
