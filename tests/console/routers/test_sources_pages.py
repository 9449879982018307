"""/sources pages: the register with health, the create/edit form, validation, escaping, CSV import, roles."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from console.routers.sources import registry
from console.routers.sources_pages import parse_until
from core.errors import BadInput


def _add(app_services, **fields):
    base = {"kind": "iptv", "name": "江苏卫视", "locator": "udp://239.1.1.1:1234", "operator": "江苏广电",
            "licence": "苏ICP-0001", "tags": ["jiangsu-related"], "schedule": "continuous"}
    return registry(app_services).add(**{**base, **fields})


def _form(client, **fields):
    data = {"csrf_token": client.csrf_token, "kind": "website", "name": "荔枝网", "locator": "https://www.example.cn/",
            "operator": "江苏省广播电视总台", "licence": "1003099", "tags": "jiangsu-related, key-drama",
            "schedule": "15m", "language": "zh", "frames_per_second": "1", "keyframe_interval": "2",
            "audio_chunk_seconds": "10", "audio_overlap_seconds": "1", "recrawl_seconds": "900",
            "silent_after_seconds": "300", "enabled": "on"}
    data.update(fields)
    return data


def test_list_shows_sources_with_health_and_filters(client_as, app_services):
    src = _add(app_services)
    _add(app_services, kind="website", name="荔枝网", locator="https://www.example.cn/", tags=["key-drama"])
    reg = registry(app_services)
    reg.record_samples(src["id"], 3)
    reg.record_error(src["id"], "connection refused by 239.1.1.1")
    page = client_as("operator").get("/sources")
    assert page.status_code == 200
    assert "江苏卫视" in page.text and "荔枝网" in page.text and "苏ICP-0001" in page.text
    assert f'href="/sources/{src["id"]}"' in page.text
    assert "connection refused by 239.1.1.1" in page.text and 'data-state="ok"' in page.text
    only_web = client_as("analyst").get("/sources", params={"kind": "website"}).text
    assert "荔枝网" in only_web and "江苏卫视" not in only_web
    tagged = client_as("supervisor").get("/sources", params={"tag": "jiangsu-related"}).text
    assert "江苏卫视" in tagged and "荔枝网" not in tagged
    assert "江苏卫视" not in client_as("operator").get("/sources", params={"enabled": "false"}).text
    english = client_as("operator").get("/sources", params={"lang": "en"}).text
    assert "Licence no." in english and "Last sample" in english


def test_create_by_form_then_listed_and_shown(client_as, app_services):
    admin = client_as("admin")
    assert 'name="csrf_token"' in admin.get("/sources/new").text
    r = admin.post("/sources/new", data=_form(admin), follow_redirects=False)
    assert r.status_code == 303, r.text
    detail = admin.get(r.headers["location"])
    assert detail.status_code == 200 and "荔枝网" in detail.text and "key-drama" in detail.text
    rows, total = registry(app_services).list()
    assert total == 1 and rows[0]["schedule"] == "15m" and rows[0]["tags"] == ["jiangsu-related", "key-drama"]
    assert rows[0]["profile"]["recrawl_seconds"] == 900 and rows[0]["enabled"] is True
    assert "荔枝网" in client_as("operator").get("/sources").text


def test_create_without_csrf_token_is_refused(client_as, app_services):
    admin = client_as("admin")
    admin.headers.pop("X-CSRF-Token")
    data = _form(admin)
    data.pop("csrf_token")
    assert admin.post("/sources/new", data=data, follow_redirects=False).status_code == 403
    assert registry(app_services).list()[1] == 0


def test_validation_errors_are_shown_next_to_the_form(client_as, app_services):
    admin = client_as("admin")
    bad_kind = admin.post("/sources/new", data=_form(admin, kind="radio"))
    assert bad_kind.status_code == 422
    assert "unknown source kind" in bad_kind.text and "use one of:" in bad_kind.text
    assert 'class="flash error field-error"' in bad_kind.text
    assert 'value="荔枝网"' in bad_kind.text  # what was typed is kept
    bad_number = admin.post("/sources/new", data=_form(admin, frames_per_second="fast"))
    assert bad_number.status_code == 422 and "frames_per_second must be a number" in bad_number.text
    bad_schedule = admin.post("/sources/new", data=_form(admin, schedule="often"))
    assert bad_schedule.status_code == 422 and "is not understood" in bad_schedule.text
    assert registry(app_services).list()[1] == 0


def test_names_are_escaped(client_as, app_services):
    src = _add(app_services, name='<script>alert("x")</script>', tags=["<b>t</b>"])
    reg = registry(app_services)
    reg.record_error(src["id"], "<img src=x onerror=alert(1)>")
    for path in ("/sources", f"/sources/{src['id']}"):
        text = client_as("operator").get(path).text
        assert "<script>alert" not in text and "&lt;script&gt;" in text
        assert "<img src=x" not in text and "<b>t</b>" not in text


def test_edit_enable_disable_and_delete(client_as, app_services):
    src = _add(app_services)
    admin = client_as("admin")
    form = admin.get(f"/sources/{src['id']}/edit").text
    assert 'value="江苏卫视"' in form and 'value="continuous"' in form
    r = admin.post(f"/sources/{src['id']}/edit",
                   data=_form(admin, kind="iptv", name="江苏卫视高清", locator=src["locator"], schedule="continuous",
                              tags="jiangsu-related", frames_per_second="2"), follow_redirects=False)
    assert r.status_code == 303, r.text
    saved = registry(app_services).get(src["id"])
    assert saved["name"] == "江苏卫视高清" and saved["profile"]["frames_per_second"] == 2
    r = admin.post(f"/sources/{src['id']}/enabled", data={"enabled": "false", "csrf_token": admin.csrf_token},
                   follow_redirects=False)
    assert r.status_code == 303 and registry(app_services).get(src["id"])["enabled"] is False
    assert admin.post(f"/sources/{src['id']}/delete", follow_redirects=False).status_code == 303
    assert client_as("operator").get(f"/sources/{src['id']}").status_code == 404


def test_boost_by_supervisor_is_listed_and_raises_effective_sampling(client_as, app_services):
    src = _add(app_services)
    boss = client_as("supervisor")
    until = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    r = boss.post(f"/sources/{src['id']}/boosts", data={"factor": "3", "until": until, "reason": "投诉定向监看"},
                  follow_redirects=False)
    assert r.status_code == 303, r.text
    page = boss.get(f"/sources/{src['id']}").text
    assert "投诉定向监看" in page and "×3.0" in page and ">3.0<" in page  # 1 fps x 3
    past = boss.post(f"/sources/{src['id']}/boosts", data={"factor": "2", "until": "2001-01-01T00:00"})
    assert past.status_code == 422 and "in the future" in past.text
    assert client_as("operator").post(f"/sources/{src['id']}/boosts",
                                      data={"factor": "2", "until": until}).status_code == 403


def test_boost_until_without_offset_is_beijing_time():
    assert parse_until("2026-10-09T18:00").utcoffset() == timedelta(hours=8)
    try:
        parse_until("tomorrow")
    except BadInput as exc:
        assert "not a date" in exc.message and exc.hint
    else:
        raise AssertionError("expected BadInput")


def test_detail_shows_latest_alerts_of_the_source(client_as, app_services, plant):
    src = _add(app_services)
    plant(source_id=src["id"], term="赌博网站")
    plant(source_id="src-other", term="别的词")
    page = client_as("operator").get(f"/sources/{src['id']}").text
    assert "赌博网站" in page and "别的词" not in page


def test_csv_upload_reports_bad_line(client_as, app_services):
    admin = client_as("admin")
    csv_text = ("kind,name,operator,licence,locator,tags\n"
                "website,荔枝网,江苏省广播电视总台,1003099,https://www.example.cn/,jiangsu-related\n"
                "radio,某电台,某公司,1,http://radio.example/,\n"
                "iptv,江苏卫视,江苏广电,2,udp://239.1.1.1:1234,jiangsu-related;key-drama\n")
    r = admin.post("/sources/import", files={"file": ("名录.csv", csv_text.encode("utf-8"), "text/csv")})
    assert r.status_code == 200, r.text
    report = r.text[r.text.index('id="import-report"'):]
    assert re.search(r'<td class="num">3</td><td>unknown source kind', report)
    assert "名录.csv" in report
    assert registry(app_services).list()[1] == 2
    bad_header = admin.post("/sources/import", files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")})
    assert bad_header.status_code == 422 and "the header lacks" in bad_header.text
    assert "qinglang-import-" not in bad_header.text  # no server paths shown


def test_csv_upload_size_limited(client_as, app_services):
    app_services.settings.max_upload_bytes = 200
    admin = client_as("admin")
    big = b"kind,name,locator\n" + b"website,x,https://e.cn/\n" * 20
    r = admin.post("/sources/import", files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code in (413, 422) and "larger than" in r.text
    assert registry(app_services).list()[1] == 0


def test_roles(client, client_as, app_services):
    src = _add(app_services)
    assert client.get("/sources", follow_redirects=False).status_code == 303
    assert client_as("handler").get("/sources").status_code == 403
    assert client_as("list_admin").get(f"/sources/{src['id']}").status_code == 403
    for role in ("operator", "analyst", "supervisor"):
        c = client_as(role)
        page = c.get(f"/sources/{src['id']}").text
        assert "/edit" not in page and f"/sources/{src['id']}/delete" not in page
        assert c.get("/sources/new").status_code == 403
        assert c.post("/sources/new", data=_form(c)).status_code == 403
        assert c.post("/sources/import", files={"file": ("a.csv", b"kind,name,locator\n", "text/csv")}).status_code == 403
        assert c.post(f"/sources/{src['id']}/enabled", data={"enabled": "false"}).status_code == 403
    assert 'action="/sources/import"' not in client_as("operator").get("/sources").text
    assert 'action="/sources/import"' in client_as("admin").get("/sources").text
    assert 'href="/sources"' in client_as("operator").get("/sources").text  # nav link
