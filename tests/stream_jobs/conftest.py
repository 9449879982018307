from __future__ import annotations

import pytest

from core.events import Topic
from core.services import Services
from core.settings import Settings, reset_settings_cache


@pytest.fixture
def services(tmp_path):
    reset_settings_cache()
    svc = Services(Settings(data_dir=tmp_path / "var"))
    svc.bus.ensure_topics([t.value for t in Topic])
    yield svc
    svc.close()


def topic_values(svc: Services, topic: str, group: str = "test-reader") -> list[dict]:
    out: list[dict] = []
    with svc.bus.consumer(group, [topic]) as c:
        while True:
            batch = c.poll(max_records=500, timeout=0.2)
            if not batch:
                return out
            out.extend(r.value for r in batch)
