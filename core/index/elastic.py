"""The hit index on Elasticsearch 8.x (also 9.x), using only what the core server has.

Layout: monthly indices ``<prefix>-YYYY.MM`` (the month of ``detected_at``, so a
replay of a hit always lands in the same index and overwrites it) created from
the index template ``<prefix>``, which gives them the alias ``qinglang-hits``
(settings.elasticsearch_alias) and explicit mappings:

``elasticsearch://host:port?alias=A&prefix=P`` names another alias and index
prefix (isolated runs on one cluster: tests, benchmarks).

- keyword fields for ids and every facet (FACET_FIELDS), ``rules``, ``term``…;
- ``detected_at`` as ``date_nanos`` (microsecond order, like the embedded index);
- the Chinese text twice: ``qinglang_tokens`` holds the jieba search-mode tokens
  of text/matched/term/snippet (core.index.tokenize) joined by spaces under the
  built-in ``whitespace`` analyzer (the query model: every query token must
  prefix-match a token, the same rule as the embedded FTS5 index), and ``text``
  and ``evidence.snippet`` use the ``standard`` analyzer for phrase search in
  Kibana. Everything else stays in ``_source`` unindexed (``dynamic: false``).

No analysis-common, painless, reindex or update_by_query is needed.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Iterable

from core.errors import BadInput, IndexUnavailable
from core.index.base import FACET_FIELDS, HitIndex, HitQuery, SearchResult
from core.index.embedded import MAX_PAGE, to_utc
from core.index.tokenize import token_string, tokens

START_HINT = "start it with `qinglang services start elasticsearch` (or fix the index URL, QINGLANG_INDEX)"
TOKENS = "qinglang_tokens"
_FILTERS = {
    "source": "source_id",
    "detector": "detector",
    "list": "list_name",
    "category": "category",
    "severity": "severity",
    "platform": "platform",
}
_KEYWORDS = (
    "id", "sample_id", "source_id", "detector", "list_id", "list_name", "entry_id", "term", "matched",
    "normalized", "rules", "category", "severity", "origin", "platform", "program",
)

MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        **{f: {"type": "keyword"} for f in _KEYWORDS},
        "schema_version": {"type": "integer"},
        "list_version": {"type": "integer"},
        "confidence": {"type": "float"},
        "value": {"type": "double"},
        "detected_at": {"type": "date_nanos"},
        "text": {"type": "text", "analyzer": "standard"},
        TOKENS: {"type": "text", "analyzer": "whitespace", "norms": False, "index_options": "docs"},
        "evidence": {
            "type": "object",
            "dynamic": False,
            "properties": {
                "snippet": {"type": "text", "analyzer": "standard"},
                "text_id": {"type": "keyword"},
                "frame": {"type": "keyword"},
                "clip": {"type": "keyword"},
                "media_start": {"type": "double"},
                "media_end": {"type": "double"},
            },
        },
    },
}


def _cursor(sort: list[Any]) -> str:
    raw = json.dumps(sort, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _uncursor(cursor: str) -> list[Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(value, list) or len(value) != 2 or not isinstance(value[1], str):
            raise ValueError("wrong shape")
        return value
    except (ValueError, TypeError) as exc:
        raise BadInput(
            f"bad search cursor {cursor[:40]!r}", hint="pass back the cursor of the previous page unchanged"
        ) from exc


class ElasticIndex(HitIndex):
    def __init__(
        self,
        url: str = "elasticsearch://127.0.0.1:9200",
        *,
        alias: str = "qinglang-hits",
        prefix: str = "hits",
        retries: int = 5,
        request_timeout: float = 30.0,
    ) -> None:
        from urllib.parse import parse_qs

        from elasticsearch import Elasticsearch

        scheme, _, rest = url.partition("://")
        if not rest:
            scheme, rest = "elasticsearch", url
        rest, _, query = rest.partition("?")
        params = {k: v[0] for k, v in parse_qs(query).items()}
        alias, prefix = params.get("alias", alias), params.get("prefix", prefix)
        self.address = rest.rstrip("/") or "127.0.0.1:9200"
        http = "https" if scheme == "https" else "http"
        self.url = f"{scheme}://{self.address}"
        self.alias = alias
        self.prefix = prefix
        self.retries = int(retries)
        self._known: set[str] | None = None
        self._known_at = 0.0
        self.es = Elasticsearch(f"{http}://{self.address}", request_timeout=request_timeout, max_retries=0)
        self._call(lambda: self.es.cluster.health(wait_for_status="yellow", timeout="30s"), "connecting", attempts=2)
        self._call(self._put_template, "installing the index template")

    # -- plumbing ----------------------------------------------------------------
    def _call(self, fn, doing: str, *, attempts: int | None = None):  # type: ignore[no-untyped-def]
        """Run one request; connection failures, 429 and 5xx are retried with backoff, then IndexUnavailable."""
        from elasticsearch import ApiError, ConnectionError, ConnectionTimeout

        delay = 0.5
        tries = self.retries if attempts is None else attempts
        for attempt in range(tries + 1):
            try:
                return fn()
            except (ConnectionError, ConnectionTimeout) as exc:
                err: Exception = exc
            except ApiError as exc:
                if exc.meta.status not in (429, 502, 503, 504):
                    raise
                err = exc
            if attempt < tries:
                time.sleep(delay)
                delay = min(delay * 2, 8.0)
        raise IndexUnavailable(f"Elasticsearch at {self.address} failed while {doing}: {err}", hint=START_HINT) from err

    def _put_template(self) -> None:
        self.es.indices.put_index_template(
            name=self.prefix,
            index_patterns=[f"{self.prefix}-*"],
            priority=100,
            template={
                "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s",
                             "max_result_window": MAX_PAGE + 1},  # a full page plus one, to know if more follow
                "mappings": MAPPINGS,
                "aliases": {self.alias: {}},
            },
            meta={"owner": "qinglang", "doc": "hit documents (Hit.to_json) by month of detected_at"},
        )

    def index_for(self, doc: dict[str, Any]) -> str:
        return f"{self.prefix}-{to_utc(doc.get('detected_at')):%Y.%m}"

    @staticmethod
    def _source(doc: dict[str, Any]) -> dict[str, Any]:
        raw = doc.get("evidence")
        evidence: dict[str, Any] = raw if isinstance(raw, dict) else {}
        parts = [doc.get("text"), doc.get("matched"), doc.get("term"), evidence.get("snippet")]
        detected = doc.get("detected_at")
        if not isinstance(detected, str):
            detected = to_utc(detected).isoformat().replace("+00:00", "Z")
        return {**doc, "detected_at": detected, TOKENS: token_string(*(p for p in parts if isinstance(p, str)))}

    # -- writing -------------------------------------------------------------------
    def upsert(self, docs: Iterable[dict[str, Any]]) -> int:
        ops: dict[str, tuple[str, dict[str, Any]]] = {}
        for doc in docs:
            if not isinstance(doc, dict) or not doc.get("id"):
                raise BadInput("a hit document must be a dict with an 'id'", hint="index Hit.to_json() dicts")
            ops[str(doc["id"])] = (self.index_for(doc), self._source(doc))  # last write of an id wins
        self._drop_moved(ops)
        pending = list(ops.items())
        written = 0
        delay = 0.5
        for attempt in range(self.retries + 1):
            body: list[dict[str, Any]] = []
            for hit_id, (index, source) in pending:
                body += [{"index": {"_index": index, "_id": hit_id}}, source]
            resp = self._call(lambda b=body: self.es.bulk(operations=b), f"writing {len(pending)} hits")
            retry: list[tuple[str, tuple[str, dict[str, Any]]]] = []
            for (hit_id, op), item in zip(pending, resp["items"], strict=True):
                result = item.get("index", {})
                status = int(result.get("status", 500))
                if status < 300:
                    written += 1
                elif status in (429, 500, 502, 503, 504):
                    retry.append((hit_id, op))
                else:
                    error = result.get("error") or {}
                    reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
                    cause = (error.get("caused_by") or {}).get("reason")
                    raise BadInput(
                        f"Elasticsearch refused hit {hit_id} for {op[0]} ({reason}{'; ' + cause if cause else ''})",
                        hint="the document does not fit the index mapping (see core/index/elastic.py MAPPINGS); "
                        "fix the producer or delete the conflicting index",
                    )
            if not retry:
                return written
            pending = retry
            if attempt < self.retries:
                time.sleep(delay)
                delay = min(delay * 2, 8.0)
        raise IndexUnavailable(
            f"Elasticsearch at {self.address} kept rejecting {len(pending)} hits (overloaded)", hint=START_HINT
        )

    def _indices(self, fresh: bool = False) -> set[str]:
        """Monthly indices behind the alias (cached for 30 s)."""
        from elasticsearch import NotFoundError

        if fresh or self._known is None or time.monotonic() - self._known_at > 30:
            try:
                names = self._call(lambda: self.es.indices.get_alias(name=self.alias).body, "listing indices")
                self._known = set(names)
            except NotFoundError:
                self._known = set()
            self._known_at = time.monotonic()
        return self._known

    def _drop_moved(self, ops: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Delete older copies of these ids from other monthly indices (a hit whose detected_at moved).

        Hit ids are deterministic, so this normally finds nothing; with one monthly index it costs nothing.
        """
        known = self._indices()
        targets = {index for index, _ in ops.values()}
        if targets - known:
            known = self._indices(fresh=True)
        docs = [{"_index": other, "_id": hit_id, "_source": False}
                for hit_id, (index, _) in ops.items() for other in known if other != index]
        if docs:
            found = self._call(lambda: self.es.mget(docs=docs).body, "looking up moved hits")["docs"]
            stale = [{"delete": {"_index": d["_index"], "_id": d["_id"]}} for d in found if d.get("found")]
            if stale:
                self._call(lambda: self.es.bulk(operations=stale), "removing moved hits")
        self._known = known | targets

    def refresh(self) -> None:
        from elasticsearch import NotFoundError

        try:
            self._call(lambda: self.es.indices.refresh(index=self.alias), "refreshing")
        except NotFoundError:
            pass

    # -- reading -------------------------------------------------------------------
    def _search(self, doing: str, **body: Any) -> dict[str, Any] | None:
        from elasticsearch import NotFoundError

        try:
            return self._call(lambda: self.es.search(index=self.alias, **body).body, doing)
        except NotFoundError:
            return None  # no hit indexed yet: the alias does not exist

    def get(self, hit_id: str) -> dict[str, Any] | None:
        resp = self._search("reading a hit", query={"ids": {"values": [hit_id]}}, size=1,
                            source_excludes=[TOKENS])
        hits = (resp or {}).get("hits", {}).get("hits", [])
        return self._doc(hits[0]) if hits else None

    def count(self) -> int:
        from elasticsearch import NotFoundError

        try:
            return int(self._call(lambda: self.es.count(index=self.alias), "counting")["count"])
        except NotFoundError:
            return 0

    @staticmethod
    def _doc(hit: dict[str, Any]) -> dict[str, Any]:
        return hit["_source"]

    @staticmethod
    def _query(query: HitQuery) -> dict[str, Any] | None:
        must: list[dict[str, Any]] = []
        if query.q and query.q.strip():
            toks = tokens(query.q)
            if not toks:
                return None  # text without a searchable token matches nothing (as the embedded index)
            must = [{"prefix": {TOKENS: {"value": t}}} for t in toks]
        filters: list[dict[str, Any]] = []
        rng: dict[str, str] = {}
        if query.since is not None:
            rng["gte"] = to_utc(query.since, "since").isoformat().replace("+00:00", "Z")
        if query.until is not None:
            rng["lt"] = to_utc(query.until, "until").isoformat().replace("+00:00", "Z")
        if rng:
            filters.append({"range": {"detected_at": rng}})
        for attr, fld in _FILTERS.items():
            values = [str(v) for v in (getattr(query, attr) or []) if v is not None and str(v) != ""]
            if values:
                filters.append({"terms": {fld: values}})
        return {"bool": {"must": must, "filter": filters}}

    def search(self, query: HitQuery) -> SearchResult:
        size = int(query.size)
        if size < 1 or size > MAX_PAGE:
            raise BadInput(f"page size {size} is out of range", hint=f"use 1 to {MAX_PAGE}; page on with the cursor")
        after = _uncursor(query.cursor) if query.cursor else None
        es_query = self._query(query)
        if es_query is None:
            return SearchResult(hits=[], total=0)
        aggs: dict[str, Any] = {}
        if query.facets:
            for f in FACET_FIELDS:
                aggs[f"f_{f}"] = {"terms": {"field": f, "size": 1000, "order": [{"_count": "desc"}, {"_key": "asc"}]}}
        if query.histogram:
            aggs["per_day"] = {"date_histogram": {"field": "detected_at", "calendar_interval": "day",
                                                  "time_zone": "UTC", "format": "yyyy-MM-dd", "min_doc_count": 1}}
        body: dict[str, Any] = {
            "query": es_query,
            "size": size + 1,
            "sort": [{"detected_at": {"order": "desc"}}, {"id": {"order": "desc"}}],
            "track_total_hits": True,
            "source_excludes": [TOKENS],
        }
        if query.fields is not None:
            body["source_includes"] = list(query.fields)
        if aggs:
            body["aggs"] = aggs
        if after is not None:
            body["search_after"] = after
        resp = self._search("searching", **body)
        if resp is None:
            return SearchResult(hits=[], total=0, facets={f: {} for f in FACET_FIELDS} if query.facets else {})
        raw = resp["hits"]["hits"]
        more = len(raw) > size
        raw = raw[:size]
        got = resp.get("aggregations", {})
        facets = {f: {str(b["key"]): int(b["doc_count"]) for b in got[f"f_{f}"]["buckets"]}
                  for f in FACET_FIELDS} if query.facets else {}
        per_day = {b["key_as_string"]: int(b["doc_count"]) for b in got.get("per_day", {}).get("buckets", [])
                   if b["doc_count"]}
        return SearchResult(
            hits=[self._doc(h) for h in raw],
            total=int(resp["hits"]["total"]["value"]),
            facets=facets,
            per_day=per_day,
            cursor=_cursor(raw[-1]["sort"]) if more and raw else None,
        )

    def delete_all(self) -> None:
        """Drop every monthly index and the template (tests and `--reset`)."""
        from elasticsearch import NotFoundError

        for fn in (lambda: self.es.indices.delete(index=f"{self.prefix}-*"),
                   lambda: self.es.indices.delete_index_template(name=self.prefix)):
            try:
                self._call(fn, "deleting")
            except NotFoundError:
                pass

    def close(self) -> None:
        self.es.close()
