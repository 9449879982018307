"""deploy/ is statically valid: every YAML and JSON file parses and carries the keys its tool needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def test_compose_has_every_service_and_valid_references() -> None:
    compose = _docs(DEPLOY / "compose" / "docker-compose.yml")[0]
    services = compose["services"]
    for name in ("kafka", "elasticsearch", "kibana", "postgres", "prometheus", "grafana", "ingest", "jobs", "console"):
        assert name in services, name
        assert "image" in services[name] or "build" in services[name]
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}) or {}:
            assert dep in services, f"{name} depends on unknown {dep}"
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if not src.startswith(("/", ".")):
                assert src in compose["volumes"], f"{name} uses undeclared volume {src}"
            elif src.startswith("."):
                assert (DEPLOY / "compose" / src).resolve().exists(), f"{name} mounts missing {src}"
    assert services["jobs"]["command"][:3] == ["qinglang", "jobs", "--distributed"]
    assert services["jobs"]["environment"]["QINGLANG_BUS"].startswith("kafka://")
    assert (DEPLOY / "compose" / "Dockerfile").is_file()


@pytest.mark.parametrize("path", sorted((DEPLOY / "k8s").glob("*.yaml")), ids=lambda p: p.name)
def test_k8s_manifests(path: Path) -> None:
    docs = _docs(path)
    assert docs
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc
        assert doc["metadata"].get("name")
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "qinglang"
        if doc["kind"] in ("Deployment", "StatefulSet"):
            spec = doc["spec"]
            labels = spec["template"]["metadata"]["labels"]
            assert all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items())
            assert spec["template"]["spec"]["containers"][0]["image"]


def test_prometheus_config_and_rules() -> None:
    conf = _docs(DEPLOY / "prometheus" / "prometheus.yml")[0]
    assert {j["job_name"] for j in conf["scrape_configs"]} >= {"qinglang-jobs", "qinglang-console"}
    rules = _docs(DEPLOY / "prometheus" / "alerts.yml")[0]
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["alert"] and rule["expr"] and rule["annotations"]["summary"]


def test_grafana_dashboard_and_provisioning() -> None:
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "qinglang-pipeline.json").read_text(encoding="utf-8"))
    assert dash["uid"] and dash["title"] and dash["panels"]
    for panel in dash["panels"]:
        assert panel["targets"] and all(t["expr"] for t in panel["targets"])
    for sub in ("datasources", "dashboards"):
        for f in (DEPLOY / "grafana" / "provisioning" / sub).glob("*.yml"):
            assert _docs(f)[0]["apiVersion"] == 1


def test_kibana_saved_objects() -> None:
    lines = (DEPLOY / "kibana" / "qinglang-saved-objects.ndjson").read_text(encoding="utf-8").splitlines()
    objects = [json.loads(line) for line in lines if line.strip()]
    by_id = {(o["type"], o["id"]): o for o in objects}
    view = by_id[("index-pattern", "qinglang-hits")]
    assert view["attributes"]["title"] == "qinglang-hits" and view["attributes"]["timeFieldName"] == "detected_at"
    dashboards = [o for o in objects if o["type"] == "dashboard"]
    assert dashboards
    for obj in objects:
        for ref in obj.get("references", []):
            assert (ref["type"], ref["id"]) in by_id, f"{obj['id']} refers to missing {ref}"
    panels = json.loads(dashboards[0]["attributes"]["panelsJSON"])
    names = {r["name"] for r in dashboards[0]["references"]}
    assert {p["panelRefName"] for p in panels} <= names


def test_local_service_templates() -> None:
    local = DEPLOY / "local"
    props = (local / "server.properties").read_text(encoding="utf-8")
    assert "process.roles=broker,controller" in props and "controller.quorum.voters=1@127.0.0.1:9093" in props
    es = (local / "elasticsearch.yml").read_text(encoding="utf-8")
    assert "xpack.security.enabled: false" in es and "discovery.type: single-node" in es
    assert "kafka_2.13" in (local / "pom.xml").read_text(encoding="utf-8")
