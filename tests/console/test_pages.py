"""Pages and their APIs: reports, the weekly report, the wall, saved searches, English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.events import Evidence


def test_trends_api_counts_by_platform_category_day_and_top_terms(client_as, plant):
    now = datetime.now(UTC)
    plant(platform="iptv", detected_at=now)
    plant(platform="ott", term="诈骗", entry_id="f1", category="fraud", detected_at=now - timedelta(days=1))
    plant(platform="ott", term="诈骗", entry_id="f1", category="fraud", detected_at=now - timedelta(days=1))
    c = client_as("analyst")
    d = c.get("/api/reports/trends", params={"since": (now - timedelta(days=6)).date().isoformat()}).json()
    assert d["total"] == 3
    assert d["by_platform"] == {"ott": 2, "iptv": 1}
    assert d["by_category"] == {"fraud": 2, "gambling": 1}
    assert len(d["per_day"]) >= 7 and sum(d["per_day"].values()) == 3
    assert d["top_terms"][0] == {"term": "诈骗", "count": 2}
    assert c.get("/api/reports/trends", params={"since": "2026-13-01"}).status_code == 422


def test_reports_and_weekly_pages_render(client_as, plant):
    plant()
    c = client_as("supervisor")
    html = c.get("/reports").text
    assert "赌博网站" in html and ">iptv<" in html and ">gambling<" in html
    assert html.count('class="fill" data-w="100.0"') >= 4  # day, platform, category, detector, term
    week = datetime.now(UTC).strftime("%G-W%V")
    html = c.get("/reports/weekly", params={"week": week}).text
    assert "网络视听内容监测周报" in html and "@media print" not in html  # print styles live in app.css
    assert ">iptv<" in html
    assert c.get("/reports/weekly", params={"week": "W99"}).status_code == 422


def test_wall_shows_latest_frame_per_source(client_as, plant, app_services):
    frame = app_services.blobs.put(b"\x89PNG fake", "png")
    plant(source_id="src-tv1", evidence=Evidence(snippet="x", frame=frame))
    plant(source_id="src-tv1", detector="black", category="technical", term=None, entry_id=None,
          evidence=Evidence(frame=frame))
    html = client_as("operator").get("/wall").text
    assert 'data-source="src-tv1"' in html and f"/api/blobs/{frame}" in html
    assert "tile problem" in html  # an open technical alert


def test_blob_served_with_type_and_checked(client_as, app_services):
    ref = app_services.blobs.put(b"RIFF....WAVEfmt ", "wav")
    r = client_as("operator").get(f"/api/blobs/{ref}")
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav" and r.content.startswith(b"RIFF")
    assert client_as("operator").get("/api/blobs/..%2Fsecret.key").status_code in (404, 422)
    assert client_as("list_admin").get(f"/api/blobs/{ref}").status_code == 403


def test_saved_searches_per_user(client_as):
    a = client_as("analyst", name="ana-1")
    b = client_as("analyst", name="ana-2")
    r = a.post("/api/saved-searches", json={"name": "赌博类", "query": "q=赌博&platform=iptv"})
    assert r.status_code == 201
    assert [s["name"] for s in a.get("/api/saved-searches").json()["data"]] == ["赌博类"]
    assert b.get("/api/saved-searches").json()["count"] == 0
    assert b.delete(f"/api/saved-searches/{r.json()['id']}").status_code == 404
    assert a.delete(f"/api/saved-searches/{r.json()['id']}").status_code == 204
    html = a.get("/search", params={"q": "赌博", "platform": "iptv"}).text
    assert 'value="q=%E8%B5%8C%E5%8D%9A&amp;platform=iptv"' in html  # the query travels in the URL


def test_english_interface(client_as, plant):
    _, alert = plant()
    c = client_as("operator")
    html = c.get("/alerts", params={"lang": "en"}).text
    assert "Acknowledge" in c.get(f"/alerts/{alert.id}").text and ">Alerts<" in html


def test_home_sends_each_role_to_its_page(client_as):
    for role, path in (("operator", "/alerts"), ("analyst", "/search"), ("handler", "/complaints")):
        assert client_as(role).get("/", follow_redirects=False).headers["location"] == path


def test_hit_page_redirects_to_its_alert_or_shows_evidence(client_as, plant, app_services):
    from tests.console.conftest import make_hit

    hit, alert = plant()
    r = client_as("analyst").get(f"/hits/{hit.id}", follow_redirects=False)
    assert r.status_code == 200 and "<mark>赌博网站</mark>" in r.text  # analysts may not open alerts
    r = client_as("supervisor").get(f"/hits/{hit.id}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"/alerts/{alert.id}?hit=")
    loose = make_hit(term="孤立", matched="孤立", text="一条孤立命中", evidence=Evidence(snippet="一条孤立命中", start=2, end=4))
    app_services.index.upsert([loose.to_json()])
    assert "<mark>孤立</mark>" in client_as("supervisor").get(f"/hits/{loose.id}").text
    assert client_as("analyst").get("/hits/hit-none").status_code == 404


def test_alert_page_shows_the_chosen_hit(client_as, plant):
    now = datetime.now(UTC)
    first, alert = plant(source_id="s1", entry_id="same", detected_at=now - timedelta(seconds=30),
                         text="第一条赌博网站", evidence=Evidence(snippet="第一条赌博网站", start=3, end=7))
    plant(source_id="s1", entry_id="same", detected_at=now,
          text="第二条赌博网站", evidence=Evidence(snippet="第二条赌博网站", start=3, end=7))
    c = client_as("operator")
    assert 'id="snippet">第二条' in c.get(f"/alerts/{alert.id}").text
    assert 'id="snippet">第一条' in c.get(f"/alerts/{alert.id}", params={"hit": first.id}).text


def test_ts_clip_is_remuxed_to_mp4_for_the_browser(client_as, plant, app_services):
    import io

    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format="mpegts") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(10):
            for p in v.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")):
                c.mux(p)
        for p in v.encode():
            c.mux(p)
    ref = app_services.blobs.put(buf.getvalue(), "ts")
    _, alert = plant(evidence=Evidence(snippet="赌博网站", start=0, end=4, clip=ref, media_start=30.0))
    c = client_as("operator")
    assert f'src="/api/blobs/{ref}?format=mp4"' in c.get(f"/alerts/{alert.id}").text
    r = c.get(f"/api/blobs/{ref}", params={"format": "mp4"})
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4" and r.content[4:8] == b"ftyp"
    with av.open(io.BytesIO(r.content)) as out:
        assert out.streams.video[0].codec_context.name == "h264"
