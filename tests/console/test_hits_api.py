"""Hits API: search with filters and facets, paging, CSV export of every row."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from tests.console.conftest import make_hit


def _index(app_services, n, **fields):
    hits = [make_hit(**fields) for _ in range(n)]
    app_services.index.upsert([h.to_json() for h in hits])
    return hits


def test_search_filters_facets_per_day(client_as, app_services):
    _index(app_services, 3, platform="iptv")
    _index(app_services, 2, platform="ott", term="色情", matched="色情", category="porn",
           text="节目里出现色情内容", evidence={"snippet": "出现色情内容", "start": 2, "end": 4})
    c = client_as("analyst")
    body = c.get("/api/hits", params={"q": "赌博网站"}).json()
    assert body["count"] == 3 and body["facets"]["platform"] == {"iptv": 3}
    assert sum(body["per_day"].values()) == 3
    assert c.get("/api/hits", params={"platform": "ott"}).json()["count"] == 2
    assert c.get("/api/hits", params=[("platform", "ott"), ("platform", "iptv")]).json()["count"] == 5
    assert c.get("/api/hits", params={"category": "porn,gambling"}).json()["count"] == 5
    future = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert c.get("/api/hits", params={"since": future}).json()["count"] == 0
    r = c.get("/api/hits", params={"since": "yesterday"})
    assert r.status_code == 422 and r.json()["hint"]


def test_cursor_pages_through_everything(client_as, app_services):
    hits = _index(app_services, 7)
    c = client_as("supervisor")
    seen, cursor = [], None
    while True:
        body = c.get("/api/hits", params={"size": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [h["id"] for h in body["data"]]
        cursor = body["cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(h.id for h in hits) and len(seen) == 7


def test_csv_export_streams_all_rows(client_as, app_services):
    n = 2300  # more than one scan page (1000) and many stream chunks
    docs = []
    for i in range(n):
        h = make_hit(term="赌博网站", text=f"第{i}条 赌博网站", matched="=cmd|' /C calc'!A0" if i == 0 else "赌博网站")
        docs.append(h.to_json())
    app_services.index.upsert(docs)
    c = client_as("analyst")
    with c.stream("GET", "/api/hits/export.csv", params={"q": "赌博"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.headers["x-total-count"] == str(n)
        chunks = list(r.iter_bytes())
    assert len(chunks) > 1  # streamed, not built in one piece
    text = b"".join(chunks).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == n and len({r["id"] for r in rows}) == n
    assert any(r["matched"].startswith("'=") for r in rows)  # no spreadsheet formulas


def test_get_one_hit(client_as, app_services):
    (hit,) = _index(app_services, 1)
    assert client_as("operator").get(f"/api/hits/{hit.id}").json()["id"] == hit.id
    assert client_as("operator").get("/api/hits/hit-missing").status_code == 404
