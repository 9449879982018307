"""`qinglang services`: status/start/stop of the local Kafka, Elasticsearch and PostgreSQL."""

from __future__ import annotations

import json
import socket

import pytest
from typer.testing import CliRunner

from core.errors import ConfigError
from qinglang import services_local as sl
from qinglang.cli import app

runner = CliRunner()


def test_names_and_unknown_service() -> None:
    assert sl.names("all") == ["kafka", "elasticsearch", "postgres"]
    assert sl.names("kafka") == ["kafka"]
    with pytest.raises(ConfigError) as info:
        sl.get("zookeeper")
    assert "kafka" in info.value.hint


def test_status_json_says_what_runs_and_where_logs_are() -> None:
    result = runner.invoke(app, ["services", "status", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [r["service"] for r in rows] == ["kafka", "elasticsearch", "postgres"]
    for r in rows:
        assert set(r) >= {"running", "address", "pid", "logs"}
        assert r["logs"].startswith(str(sl.RUN))


def test_templates_render_into_the_run_folder(tmp_path) -> None:
    target = tmp_path / "server.properties"
    sl._render("server.properties", target, log_dirs="/x/data")
    text = target.read_text()
    assert "log.dirs=/x/data" in text and "$" not in text
    sl._render("elasticsearch.yml", tmp_path / "es.yml", data="/d", logs="/l")
    assert "path.data: /d" in (tmp_path / "es.yml").read_text()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.kafka
def test_start_is_idempotent_when_kafka_runs() -> None:
    if not _port_open(9092):
        pytest.skip("Kafka is not running: `qinglang services start kafka`")
    result = runner.invoke(app, ["services", "start", "kafka", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["running"] is True
    assert sl.Kafka().start() == "already running on 127.0.0.1:9092"


@pytest.mark.elasticsearch
def test_elasticsearch_ready_check_uses_cluster_health() -> None:
    if not _port_open(9200):
        pytest.skip("Elasticsearch is not running: `qinglang services start elasticsearch`")
    assert sl.Elasticsearch().health() in ("yellow", "green")
