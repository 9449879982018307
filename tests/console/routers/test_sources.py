"""/api/sources: list shape, roles (operators/analysts read, admins write), validation, boosts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def test_sources_api_roles_and_crud(client, client_as):
    admin = client_as("admin")
    reader = client_as("analyst")
    handler = client_as("handler")
    assert client.get("/api/sources").status_code == 401
    assert handler.get("/api/sources").status_code == 403
    body = {"kind": "iptv", "name": "江苏卫视", "locator": "udp://239.1.1.1:1234", "tags": ["jiangsu-related"],
            "profile": {"frames_per_second": 2}, "schedule": "continuous"}
    assert reader.post("/api/sources", json=body).status_code == 403
    r = admin.post("/api/sources", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    sid = created["id"]
    assert created["profile"]["frames_per_second"] == 2 and created["health"]["state"] == "idle"
    assert admin.post("/api/sources", json=body).status_code == 409
    bad = admin.post("/api/sources", json={**body, "kind": "radio"})
    assert bad.status_code == 422
    assert admin.post("/api/sources", json={**body, "locator": "udp://x:1", "schedule": "often"}).status_code == 422
    listed = reader.get("/api/sources").json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == sid
    assert reader.get("/api/sources", params={"kind": "website"}).json() == {"data": [], "count": 0}
    assert reader.get(f"/api/sources/{sid}").json()["name"] == "江苏卫视"
    assert reader.patch(f"/api/sources/{sid}", json={"enabled": False}).status_code == 403
    patched = admin.patch(f"/api/sources/{sid}", json={"enabled": False, "tags": ["key-drama"]})
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert patched.json()["tags"] == ["key-drama"] and patched.json()["name"] == "江苏卫视"
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    b = admin.post(f"/api/sources/{sid}/boosts", json={"factor": 3, "until": until, "reason": "投诉定向监看"})
    assert b.status_code == 201 and b.json()["factor"] == 3
    assert admin.delete(f"/api/sources/{sid}").status_code == 204
    assert reader.get(f"/api/sources/{sid}").status_code == 404
    assert reader.get("/openapi.json").json()["paths"]["/api/sources"]
