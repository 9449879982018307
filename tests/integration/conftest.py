"""Integration tests need the local services (`qinglang services start all`); they skip otherwise."""

from __future__ import annotations

import socket

import pytest

KAFKA = "127.0.0.1:9092"
ES = "127.0.0.1:9200"


def _port_open(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    with socket.socket() as s:
        s.settimeout(1.0)
        return s.connect_ex((host, int(port))) == 0


@pytest.fixture(scope="session")
def kafka_address() -> str:
    if not _port_open(KAFKA):
        pytest.skip(f"Kafka is not running on {KAFKA}: start it with `qinglang services start kafka`")
    return KAFKA


@pytest.fixture(scope="session")
def es_address() -> str:
    if not _port_open(ES):
        pytest.skip(f"Elasticsearch is not running on {ES}: start it with `qinglang services start elasticsearch`")
    return ES
