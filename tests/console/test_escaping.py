"""Hit text is shown escaped everywhere: a script in a page or a comment stays text."""

from __future__ import annotations

from core.events import Evidence

EVIL = "<script>alert('x')</script>"


def test_evidence_page_escapes_and_highlights(client_as, plant):
    text = f"前文{EVIL}赌博网站后文"
    start = text.index("赌博网站")
    _, alert = plant(text=text, evidence=Evidence(snippet=text, start=start, end=start + 4),
                     source_id=f"src-<b>{EVIL}")
    html = client_as("operator").get(f"/alerts/{alert.id}").text
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<mark>赌博网站</mark>" in html
    assert "<b>" not in html.split("<main", 1)[1].replace("<b></b>", "")


def test_alert_list_and_search_escape(client_as, plant):
    plant(term=EVIL, matched=EVIL, text=f"文本{EVIL}", evidence=Evidence(snippet=EVIL, start=0, end=len(EVIL)))
    ops = client_as("operator").get("/alerts").text
    assert EVIL not in ops and "&lt;script&gt;" in ops
    res = client_as("analyst").get("/search", params={"q": "文本"}).text
    assert EVIL not in res and "<mark>&lt;script&gt;" in res


def test_search_query_reflected_escaped(client_as):
    html = client_as("analyst").get("/search", params={"q": '"><img src=x onerror=alert(1)>'}).text
    assert "<img src=x" not in html


def test_error_page_escapes_message(client_as):
    html = client_as("operator").get(f"/alerts/{EVIL}", headers={"Accept": "text/html"}).text
    assert EVIL not in html
