"""/api/lists: list administrators write, analysts and operators read; every write is audited."""

from __future__ import annotations


def _make(c, name="gamble"):
    r = c.post("/api/lists", json={"name": name, "kind": "keyword", "category": "gambling", "severity": "high",
                                   "reason": "campaign"})  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_create_entries_tombstone_versions(client_as) -> None:
    admin = client_as("list_admin", name="wang")
    lst = _make(admin)
    assert (lst["version"], lst["enabled"]) == (1, True)
    r = admin.post("/api/lists/gamble/entries", json={"entries": [{"term": "赌博"}, {"term": "六合彩", "pinyin": True}],
                                                       "reason": "seed"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["added"] == 2 and r.json()["version"] == 2
    page = admin.get("/api/lists/gamble/entries", params={"limit": 1}).json()
    assert page["count"] == 2 and len(page["data"]) == 1
    eid = page["data"][0]["id"]
    r = admin.patch(f"/api/lists/gamble/entries/{eid}", json={"enabled": False, "reason": "too broad"})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert admin.get("/api/lists/gamble/entries").json()["count"] == 2  # kept as a tombstone
    versions = admin.get("/api/lists/gamble/versions").json()
    assert versions["count"] == 3
    top = versions["data"][0]
    assert (top["action"], top["user"], top["reason"]) == ("disable-entry", "wang", "too broad")
    lists = admin.get("/api/lists").json()
    assert lists["count"] == 1 and lists["data"][0]["entry_count"] == 2


def test_patch_list_options_and_match(client_as) -> None:
    admin = client_as("list_admin")
    _make(admin)
    admin.post("/api/lists/gamble/entries", json={"entries": [{"term": "赌博"}]})
    hits = admin.post("/api/lists/match", json={"text": "来賭 博"}).json()
    assert hits["count"] == 1 and hits["data"][0]["matched"] == "賭 博"
    r = admin.patch("/api/lists/gamble", json={"options": {"noise_gap": 0, "t2s": False}, "reason": "strict"})
    assert r.status_code == 200 and r.json()["options"]["noise_gap"] == 0 and r.json()["version"] == 3
    assert admin.post("/api/lists/match", json={"text": "来賭 博"}).json()["count"] == 0
    bad = admin.patch("/api/lists/gamble", json={"options": {"nonsense": 1}})
    assert bad.status_code == 422
    off = admin.patch("/api/lists/gamble", json={"enabled": False})
    assert off.json()["enabled"] is False


def test_import_upload_and_export(client_as) -> None:
    admin = client_as("list_admin")
    body = "赌博\n\n賭博\n六合彩\n".encode()
    r = admin.post("/api/lists/up/import", files={"file": ("w.txt", body, "text/plain")},
                   data={"kind": "keyword", "category": "gambling", "severity": "high", "reason": "upload"})  # fmt: skip
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["added"] == 2 and [x["line"] for x in rep["rejected"]] == [2, 3]
    exp = admin.get("/api/lists/up/export", params={"format": "txt"})
    assert exp.status_code == 200 and exp.text == "赌博\n六合彩\n"
    bad = admin.post("/api/lists/up/import", files={"file": ("w.txt", "赌博".encode("gbk"), "text/plain")})
    assert bad.status_code == 422 and "UTF-8" in bad.text


def test_allow_list_api(client_as) -> None:
    admin = client_as("list_admin")
    _make(admin, "porn")
    admin.post("/api/lists/porn/entries", json={"entries": [{"term": "黄片"}]})
    r = admin.post("/api/lists/allow", json={"phrase": "三黄片", "list": "porn"})
    assert r.status_code == 201
    assert admin.get("/api/lists/allow").json()["count"] == 1
    assert admin.post("/api/lists/match", json={"text": "三黄片"}).json()["count"] == 0


def test_roles(client, client_as) -> None:
    assert client.get("/api/lists").status_code == 401
    admin = client_as("list_admin")
    _make(admin)
    for role in ("analyst", "operator"):
        reader = client_as(role)
        assert reader.get("/api/lists").status_code == 200
        assert reader.get("/api/lists/gamble/versions").status_code == 200
        assert reader.post("/api/lists", json={"name": "x", "category": "fraud"}).status_code == 403
        assert reader.patch("/api/lists/gamble", json={"enabled": False}).status_code == 403
    handler = client_as("handler")
    assert handler.get("/api/lists").status_code == 403
    assert admin.get("/api/lists/missing").status_code == 404
    assert admin.post("/api/lists", json={"name": "gamble", "category": "gambling"}).status_code == 409


def test_pages_render_escape_and_forms_work(client_as) -> None:
    admin = client_as("list_admin", name="li")
    r = admin.post("/lists", data={"name": "gamble", "kind": "keyword", "category": "gambling", "severity": "high",
                                   "csrf_token": admin.csrf_token}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].startswith("/lists/gamble")
    r = admin.post("/lists/gamble/entries", data={"term": "<b>赌博</b>", "csrf_token": admin.csrf_token},
                   follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = admin.get("/lists/gamble")
    assert page.status_code == 200
    assert "&lt;b&gt;赌博&lt;/b&gt;" in page.text and "<b>赌博</b>" not in page.text
    assert "修改记录" in page.text
    up = admin.post("/lists/gamble/import", files={"file": ("w.txt", "六合彩\n\n".encode(), "text/plain")},
                    data={"csrf_token": admin.csrf_token})  # fmt: skip
    assert up.status_code == 200 and "import-report" in up.text and "blank line" in up.text
    tried = admin.get("/lists", params={"text": "买陸合彩"})
    assert "<mark>陸合彩</mark>" in tried.text
    reader = client_as("analyst")
    assert reader.get("/lists/gamble").status_code == 200
    assert "添加条目" not in reader.get("/lists/gamble").text
    no = reader.post("/lists", data={"name": "x", "category": "fraud", "csrf_token": reader.csrf_token})
    assert no.status_code == 403


def test_options_form(client_as) -> None:
    admin = client_as("list_admin")
    _make(admin)
    form = {"case": "on", "width": "on", "noise_gap": "1", "reason": "strict", "csrf_token": admin.csrf_token}
    r = admin.post("/lists/gamble/options", data=form, follow_redirects=False)
    assert r.status_code == 303
    opts = admin.get("/api/lists/gamble").json()["options"]
    assert opts["noise_gap"] == 1 and opts["t2s"] is False and opts["case"] is True
    bad = admin.post("/lists/gamble/options", data={**form, "noise_gap": "99"}, follow_redirects=False)
    assert "error=" in bad.headers["location"]
