"""The console in a real browser: sign in, live alerts, evidence, actions, a case, search, roles."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from core.alerts import AlertStore
from core.events import Evidence, Hit, make_id
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def _frame_png() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 360), (20, 30, 60))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 280, 640, 360), fill=(0, 0, 0))
    d.rectangle((180, 295, 460, 340), outline=(255, 255, 255), width=2)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def plant(svc, n: int, term: str = "赌博网站", severity: str = "critical") -> Hit:
    frame = svc.blobs.put(_frame_png(), "png")
    text = f"字幕：欢迎访问{term}，注册就送 <script>alert(1)</script> 第{n}条"
    start = text.index(term)
    hit = Hit(id=make_id("hit", "browser", n), sample_id=f"smp-b{n}", source_id="src-hunan-tv", detector="keyword",
              list_id="lst-neg", list_name="负面清单", entry_id=f"ent-{n}", list_version=4, term=term, matched=term,
              category="gambling", severity=severity, detected_at=datetime.now(UTC), text=text, origin="ocr",
              platform="iptv", program="晚间新闻",
              evidence=Evidence(snippet=text, start=start, end=start + len(term), frame=frame, media_start=83.2,
                                media_end=85.0, box=[[180, 295], [460, 295], [460, 340], [180, 340]]))
    svc.index.upsert([hit.to_json()])
    AlertStore(svc.db).fold(hit)
    return hit


def test_sign_in_and_wrong_password(browser, stack, login):
    base, _ = stack
    ctx = browser.new_context(base_url=base, locale="zh-CN")
    page = ctx.new_page()
    page.goto("/alerts")
    assert "/login" in page.url  # pages send strangers to the sign-in form
    page.fill("input[name=username]", "op")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator(".flash.error").is_visible()
    shot(page, "01-login-wrong-password")
    ctx.close()
    page = login("op")
    assert page.url.endswith("/alerts")
    assert page.locator("nav.mainnav").inner_text().startswith("告警")
    shot(page, "02-signed-in-alerts")


def test_live_alert_evidence_acknowledge_and_case(stack, login):
    _, svc = stack
    page = login("op")
    page.goto("/alerts")
    page.wait_for_selector("#live.on", timeout=5000)
    hit = plant(svc, 1)
    alert_id = AlertStore(svc.db).list(source="src-hunan-tv", limit=1)[0][0].id
    row = page.locator(f"#alert-{alert_id}")
    row.wait_for(timeout=5000)  # arrives by server-sent events, no reload
    assert "紧急" in row.inner_text() and "赌博网站" in row.inner_text()
    shot(page, "03-live-alert")

    row.locator("a").click()
    page.wait_for_selector("#snippet mark")
    assert page.locator("#snippet mark").inner_text() == hit.term
    assert "<script>" in page.locator("#snippet").inner_text()  # shown as text, not run
    page.locator("#frame-overlay polygon").wait_for(state="attached")  # the OCR box drawn over the frame
    shot(page, "04-evidence")

    page.click("button[data-action=acknowledge]")
    page.wait_for_selector("#alert-state .state-acknowledged")
    shot(page, "05-acknowledged")

    if page.locator("button[data-action=open_case]").count():
        page.click("button[data-action=open_case]")
        page.wait_for_selector("#alert-state .state-linked")
        assert page.locator("a.case-link").is_visible()
        shot(page, "06-case-opened")


def test_keyboard_acknowledge_in_list(stack, login):
    _, svc = stack
    plant(svc, 2, term="办证刻章", severity="high")
    page = login("op")
    page.goto("/alerts?state=new")
    page.keyboard.press("j")
    first = page.locator("tbody tr.row").first
    alert_id = first.get_attribute("data-id")
    page.keyboard.press("a")
    page.locator(f"#alert-{alert_id}").wait_for(state="detached")  # acknowledged: it left the 'new' filter
    shot(page, "07-keyboard-ack")


def test_search_and_export_csv(stack, login):
    _, svc = stack
    for i in range(3):
        plant(svc, 10 + i, term="代开发票", severity="medium")
    page = login("ana")
    assert page.url.endswith("/search")
    page.fill("input[name=q]", "代开发票")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("#results .result")
    assert "q=" in page.url  # the URL holds the search: shareable
    assert page.locator("#result-count").inner_text() == "3"
    assert page.locator("#results mark").first.inner_text() == "代开发票"
    shot(page, "08-search")
    with page.expect_download() as dl:
        page.click("#export-link")
    rows = list(csv.DictReader(io.StringIO(open(dl.value.path(), encoding="utf-8-sig").read())))
    assert len(rows) == 3 and {r["term"] for r in rows} == {"代开发票"}
    page.fill("form[action='/search/saved'] input[name=name]", "发票类")
    page.click("form[action='/search/saved'] button")
    page.wait_for_selector("#saved-searches a:has-text('发票类')")
    shot(page, "09-saved-search")


def test_roles_see_only_what_they_may(stack, login):
    page = login("ana")
    assert page.goto("/alerts").status == 403
    assert "account 'ana' may not do this" in page.content()
    shot(page, "10-analyst-forbidden-alerts")
    page = login("op")
    assert page.goto("/admin/users").status == 403
    assert page.goto("/search").status == 403
    page = login("hand")
    assert page.goto("/alerts").status == 200
    assert page.locator("#alert-actions").count() == 0 and page.goto("/wall").status == 403
    page = login("boss")
    for path in ("/alerts", "/search", "/wall", "/reports", "/reports/weekly", "/admin/users"):
        assert page.goto(path).status == 200, path
        shot(page, "11-admin" + path.replace("/", "-"))


def test_api_docs_work_offline(stack, login):
    page = login("boss")
    page.goto("/docs")
    page.locator(".swagger-ui .title").wait_for(timeout=10000)  # Swagger UI from the package, no CDN
    assert "清朗" in page.locator(".swagger-ui .title").inner_text()
    assert page.get_by_text("/api/alerts", exact=True).first.is_visible()
    shot(page, "12-api-docs")
