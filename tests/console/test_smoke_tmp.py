def test_smoke(client, client_as, plant):
    assert client.get("/healthz").status_code == 200
    hit, alert = plant()
    c = client_as("operator")
    r = c.get("/api/alerts")
    print(r.json())
    assert r.status_code == 200 and r.json()["count"] == 1
    r = c.get(f"/api/alerts/{alert.id}")
    assert r.status_code == 200, r.text
    r = c.get(f"/alerts/{alert.id}")
    assert r.status_code == 200, r.text
    r = c.get("/alerts")
    assert r.status_code == 200, r.text
    a = client_as("analyst")
    r = a.get("/api/hits", params={"q": "赌博"})
    assert r.status_code == 200 and r.json()["count"] == 1, r.text
    r = a.get("/api/hits/export.csv")
    print(r.text)
    assert client.get("/alerts", follow_redirects=False).status_code == 303
    assert client.get("/login").status_code == 200
    assert client.get("/docs").status_code == 200
    assert client.get("/metrics").status_code == 200
