"""The embedded SQLite bus: the shared contract plus real crash and multi-process tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.bus import open_bus
from core.bus.embedded import EmbeddedBus, partition_for
from core.errors import BusUnavailable, ConfigError
from tests.core.contracts import BusContract, drain

ROOT = Path(__file__).resolve().parents[2]


class TestEmbeddedBusContract(BusContract):
    @pytest.fixture
    def bus_factory(self, tmp_path: Path):
        opened: list[EmbeddedBus] = []

        def make() -> EmbeddedBus:
            opened.append(EmbeddedBus(str(tmp_path / "bus.db")))
            return opened[-1]

        yield make
        for bus in opened:
            bus.close()


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def test_partition_of_a_key_is_stable_across_processes(tmp_path: Path) -> None:
    proc = _python("from core.bus.embedded import partition_for; print(partition_for('源-42', 8))")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert int(out) == partition_for("源-42", 8)


def test_consumer_killed_before_commit_gets_records_redelivered(tmp_path: Path) -> None:
    path = str(tmp_path / "bus.db")
    bus = EmbeddedBus(path)
    bus.produce_many("t", [(f"k{i % 5}", {"i": i}) for i in range(25)])
    child = _python(
        """
        import sys, time
        from core.bus.embedded import EmbeddedBus
        c = EmbeddedBus(sys.argv[1]).consumer("jobs", ["t"])
        got = []
        while len(got) < 25:
            got += c.poll(100, 1.0)
        print(len(got), flush=True)
        time.sleep(600)  # "processing": killed before commit
        """,
        path,
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "25", child.stderr.read() if not line else line
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()
    assert bus.committed("jobs", "t") == {}
    with bus.consumer("jobs", ["t"]) as c:
        again = drain(c, 25, commit=True)
    assert sorted(r.value["i"] for r in again) == list(range(25))
    assert bus.lag("jobs", ["t"]) == 0
    bus.close()


def test_two_processes_producing_concurrently_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "bus.db")
    EmbeddedBus(path).ensure_topics(["t"], partitions=3)
    code = """
        import sys
        from core.bus.embedded import EmbeddedBus
        bus = EmbeddedBus(sys.argv[1])
        name = sys.argv[2]
        for i in range(200):
            bus.produce("t", f"{name}-{i % 4}", {"p": name, "seq": i})
            if i % 50 == 0:
                bus.produce_many("t", [("shared", {"p": name, "seq": i, "batch": j}) for j in range(3)])
        """
    procs = [_python(code, path, name) for name in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    bus = EmbeddedBus(path)
    with bus.consumer("check", ["t"]) as c:
        got = drain(c, 424, commit=True)
    assert len(got) == 424
    assert len({(r.partition, r.offset) for r in got}) == 424
    for name in ("a", "b"):
        for k in range(4):
            seqs = [r.value["seq"] for r in got if r.key == f"{name}-{k}"]
            assert seqs == sorted(seqs) and len(seqs) == 50
    assert sum(bus.end_offsets("t").values()) == 424
    bus.close()


def test_two_members_of_one_group_never_process_a_record_twice(tmp_path: Path) -> None:
    bus = EmbeddedBus(str(tmp_path / "bus.db"), lease_seconds=1.5)
    bus.produce_many("t", [(f"k{i % 16}", {"i": i}) for i in range(200)])
    a, b = bus.consumer("g", ["t"]), bus.consumer("g", ["t"])
    seen: list[int] = []
    for _ in range(200):
        for c in (a, b):
            batch = c.poll(max_records=5, timeout=0.05)
            seen.extend(r.value["i"] for r in batch)
            c.commit(batch)
        if len(seen) >= 200 and a.assignment() and b.assignment():
            break
    assert sorted(seen) == list(range(200))
    assert not set(a.assignment()) & set(b.assignment())
    a.close()
    b.close()
    bus.close()


def test_a_hung_member_loses_its_partitions_after_the_lease(tmp_path: Path) -> None:
    bus = EmbeddedBus(str(tmp_path / "bus.db"), lease_seconds=0.5)
    bus.produce_many("t", [(f"k{i}", {"i": i}) for i in range(10)])
    hung = bus.consumer("g", ["t"])
    assert len(drain(hung, 10, wait=5)) == 10  # polled, never committed, never closed
    with bus.consumer("g", ["t"]) as other:
        again = drain(other, 10, commit=True)
    assert sorted(r.value["i"] for r in again) == list(range(10))
    hung.commit()  # lost its leases: this must not move the group's offsets backwards or fail
    assert bus.lag("g", ["t"]) == 0
    bus.close()


def test_errors_are_mapped(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        open_bus("embedded://")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(BusUnavailable):
        EmbeddedBus(str(blocker / "bus.db"))
    bus = open_bus(f"embedded://{tmp_path / 'b.db'}")
    c = bus.consumer("g", ["t"])
    c.close()
    with pytest.raises(BusUnavailable):
        c.poll()
    bus.close()


def test_produce_batch_writes_several_topics_in_one_transaction(tmp_path: Path) -> None:
    from core.errors import RecordTooLarge

    bus = EmbeddedBus(str(tmp_path / "bus.db"), max_record_bytes=200)
    bus.produce_batch([("a", "k", {"i": 0}), ("b", "k", {"i": 1}), ("a", "k", {"i": 2})])
    with pytest.raises(RecordTooLarge):  # one bad record: nothing of the batch is written
        bus.produce_batch([("a", "k", {"i": 3}), ("b", "k", {"x": "y" * 500})])
    with bus.consumer("g", ["a"]) as ca, bus.consumer("g", ["b"]) as cb:
        assert [r.value["i"] for r in drain(ca, 2)] == [0, 2]  # produce order kept per key
        assert [r.value["i"] for r in drain(cb, 1)] == [1]
    bus.close()


def test_keepalive_keeps_the_leases_of_a_long_batch(tmp_path: Path) -> None:
    import time

    bus = EmbeddedBus(str(tmp_path / "bus.db"), lease_seconds=0.6)
    bus.produce_many("t", [(f"k{i}", {"i": i}) for i in range(10)])
    slow = bus.consumer("g", ["t"])
    got = drain(slow, 10, wait=5)
    for _ in range(10):  # a batch that outlives the lease, heartbeating as it goes
        time.sleep(0.1)
        slow.keepalive()
    with bus.consumer("g", ["t"]) as other:
        assert other.poll(max_records=100, timeout=0.2) == []  # nothing taken over
    slow.commit(got)
    assert bus.lag("g", ["t"]) == 0
    slow.close()
    bus.close()
