"""Local Kafka, Elasticsearch and PostgreSQL for development and CI (`qinglang services`).

Everything comes from Maven Central (Kafka 4.1 jars, the Elasticsearch 8.x
integ-test zip) or the Debian PostgreSQL 15 binaries. Templates and the pom live
in ``deploy/local/``; downloads are cached in ``deploy/local/cache/`` and the
running state (config, data, logs, pid files) is in ``deploy/local/run/``.

``start`` is idempotent (a service that answers is left alone), ``stop`` kills
the whole process group of each service and waits until it is gone, ``status``
says what answers, with which pid, and where its logs are.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import string
import subprocess
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.errors import ConfigError, ServiceUnavailable

ROOT = Path(__file__).resolve().parent.parent / "deploy" / "local"
CACHE = ROOT / "cache"
RUN = ROOT / "run"
KAFKA_VERSION = "4.1.1"
ES_VERSION = "8.19.21"
DEP_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
ES_USER = "qinglang-es"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SERVICES = ("kafka", "elasticsearch", "postgres")

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Status:
    name: str
    running: bool
    address: str
    pid: int | None
    logs: Path
    detail: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "service": self.name,
            "running": self.running,
            "address": self.address,
            "pid": self.pid,
            "logs": str(self.logs),
            "detail": self.detail,
        }


# -- helpers ---------------------------------------------------------------------
def java_home() -> Path:
    """A JDK 17+ (ES_JAVA_HOME / JAVA_HOME, then the usual Debian and Temurin folders)."""
    cands = [os.environ.get("ES_JAVA_HOME"), os.environ.get("JAVA_HOME"), "/usr/lib/jvm/java-17-openjdk-amd64"]
    cands += sorted(str(p) for p in Path("/usr/lib/jvm").glob("*") if p.is_dir()) if Path("/usr/lib/jvm").is_dir() else []
    for c in cands:
        if c and (Path(c) / "bin" / "java").is_file():
            return Path(c)
    raise ConfigError("no Java 17+ found", hint="install openjdk-17-jdk-headless or set JAVA_HOME")


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def _kill_group(pid: int, grace: float = 30.0) -> None:
    """SIGTERM the process group led by pid, then SIGKILL what is left after grace seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                return
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.2)


def _render(template: str, target: Path, **values: str) -> None:
    text = string.Template((ROOT / template).read_text(encoding="utf-8")).substitute(values)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _run(cmd: list[str], what: str, **kw) -> str:  # type: ignore[no-untyped-def]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 900), **kw)
    except FileNotFoundError as exc:
        raise ConfigError(f"{what}: {cmd[0]} is not installed", hint="install it (see deploy/local/)") from exc
    except subprocess.TimeoutExpired as exc:
        raise ServiceUnavailable(f"{what} timed out", hint="check the network and try again") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-1500:]
        raise ServiceUnavailable(f"{what} failed (exit {done.returncode}): {tail}", hint="see the message above")
    return done.stdout


def _wait(ready: Callable[[], bool], alive: Callable[[], bool], name: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not alive():
            raise ServiceUnavailable(f"{name} exited while starting", hint=f"read its log: {log}")
        time.sleep(1.0)
    raise ServiceUnavailable(f"{name} did not become ready in {timeout:.0f} s", hint=f"read its log: {log}")


def _mvn(args: list[str], what: str) -> None:
    _run(["mvn", "-B", "-q", f"-Dmaven.repo.local={CACHE / 'm2'}", "-f", str(ROOT / "pom.xml"), *args], what)


def _spawn(cmd: list[str], log: Path, pidfile: Path, env: dict[str, str] | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})}, cwd=str(pidfile.parent),
        )
    pidfile.write_text(f"{proc.pid}\n")
    return proc.pid


# -- Kafka -----------------------------------------------------------------------
class Kafka:
    name = "kafka"
    address = "127.0.0.1:9092"
    home = RUN / "kafka"
    libs = CACHE / "kafka-libs"
    pidfile = home / "kafka.pid"
    logs = home / "logs"

    def ready(self) -> bool:
        if not _port_open(9092):
            return False
        try:
            from kafka import KafkaAdminClient

            admin = KafkaAdminClient(
                bootstrap_servers=self.address, request_timeout_ms=3000
            )
            try:
                return bool(admin.describe_cluster().get("brokers"))
            finally:
                admin.close()
        except Exception:  # noqa: BLE001 - any failure means "not ready yet"
            return False

    def _download(self, say: Say) -> None:
        if not any(self.libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
            say(f"downloading Apache Kafka {KAFKA_VERSION} jars from Maven Central (once)…")
            _mvn([f"{DEP_PLUGIN}:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={self.libs}"],
                 "downloading Kafka")

    def _java(self, main: str, *args: str, heap: str = "-Xmx256m") -> list[str]:
        return [str(java_home() / "bin" / "java"), heap, "-cp", f"{self.libs}/*",
                f"-Dlog4j2.configurationFile={ROOT / 'log4j2.xml'}", f"-Dkafka.logs.dir={self.logs}", main, *args]

    def start(self, say: Say = _quiet) -> str:
        if self.ready():
            return f"already running on {self.address}"
        self._download(say)
        props = self.home / "server.properties"
        _render("server.properties", props, log_dirs=str(self.home / "data"))
        if not (self.home / "data" / "meta.properties").exists():
            say("formatting Kafka storage (KRaft)…")
            cluster_id = _run(self._java("kafka.tools.StorageTool", "random-uuid"), "kafka random-uuid").split()[-1]
            _run(self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props),
                            "--ignore-formatted"), "kafka storage format")
        if not _alive(_read_pid(self.pidfile)):
            if _port_open(9092) or _port_open(9093):
                raise ServiceUnavailable("port 9092 or 9093 is taken by another program",
                                         hint="stop that program, then run qinglang services start kafka")
            say("starting Kafka broker…")
            cmd = self._java("kafka.Kafka", str(props), heap="-Xmx1g")
            cmd[1:2] = ["-Xms512m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true"]
            _spawn(cmd, self.logs / "stdout.log", self.pidfile)
        _wait(self.ready, lambda: _alive(_read_pid(self.pidfile)), "Kafka", self.logs / "server.log", 120)
        return f"ready on {self.address}"

    def stop(self) -> bool:
        pid = _read_pid(self.pidfile)
        if _alive(pid):
            _kill_group(pid)  # type: ignore[arg-type]
            self.pidfile.unlink(missing_ok=True)
            return True
        self.pidfile.unlink(missing_ok=True)
        return False

    def status(self) -> Status:
        pid = _read_pid(self.pidfile)
        return Status(self.name, self.ready(), self.address, pid if _alive(pid) else None, self.logs / "server.log")


# -- Elasticsearch -----------------------------------------------------------------
class Elasticsearch:
    name = "elasticsearch"
    address = "127.0.0.1:9200"
    home = RUN / "elasticsearch"
    install = CACHE / f"elasticsearch-{ES_VERSION}"
    pidfile = home / "es.pid"
    logs = home / "logs"

    def health(self, wait: str = "0s") -> str | None:
        url = f"http://{self.address}/_cluster/health?wait_for_status=yellow&timeout={wait}"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - fixed local URL
                import json

                return str(json.load(resp).get("status"))
        except (OSError, ValueError):
            return None

    def ready(self) -> bool:
        return self.health() in ("yellow", "green")

    def _download(self, say: Say) -> None:
        if (self.install / "bin" / "elasticsearch").is_file():
            return
        zip_path = CACHE / f"elasticsearch-{ES_VERSION}.zip"
        if not zip_path.is_file():
            say(f"downloading Elasticsearch {ES_VERSION} from Maven Central (once, ~300 MB)…")
            _mvn([f"{DEP_PLUGIN}:copy",
                  f"-Dartifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip",
                  f"-DoutputDirectory={CACHE}"], "downloading Elasticsearch")
        say("unpacking Elasticsearch…")
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(CACHE)
        for p in (self.install / "bin").iterdir():
            p.chmod(0o755)
        jdk_bin = self.install / "jdk" / "bin"
        if jdk_bin.is_dir():
            for p in jdk_bin.iterdir():
                p.chmod(0o755)

    def _user(self) -> str | None:
        """The unprivileged account Elasticsearch runs as (it refuses root); None when not root."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam(ES_USER)
        except KeyError:
            _run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", ES_USER],
                 f"creating user {ES_USER}")
        return ES_USER

    def _configure(self, user: str | None) -> Path:
        conf = self.home / "config"
        if not (conf / "jvm.options").exists():
            shutil.copytree(self.install / "config", conf, dirs_exist_ok=True)
        _render("elasticsearch.yml", conf / "elasticsearch.yml", data=str(self.home / "data"), logs=str(self.logs))
        (conf / "jvm.options.d").mkdir(exist_ok=True)
        shutil.copy(ROOT / "heap.options", conf / "jvm.options.d" / "heap.options")
        for d in ("data", "logs", "tmp"):
            (self.home / d).mkdir(parents=True, exist_ok=True)
        if user:
            ent = pwd.getpwnam(user)
            for path in [self.home, *self.home.rglob("*")]:
                os.chown(path, ent.pw_uid, ent.pw_gid)
        return conf

    def start(self, say: Say = _quiet) -> str:
        if self.ready():
            return f"already running on {self.address}"
        self._download(say)
        user = self._user()
        conf = self._configure(user)
        if not _alive(_read_pid(self.pidfile)):
            if _port_open(9200):
                raise ServiceUnavailable("port 9200 is taken by another program",
                                         hint="stop it, then run qinglang services start elasticsearch")
            say("starting Elasticsearch (first start takes a minute)…")
            env = {"ES_JAVA_HOME": str(java_home()), "ES_PATH_CONF": str(conf), "ES_TMPDIR": str(self.home / "tmp")}
            cmd = [str(self.install / "bin" / "elasticsearch")]
            if user:
                cmd = ["runuser", "-u", user, "--", "env", *(f"{k}={v}" for k, v in env.items()), *cmd]
            _spawn(cmd, self.logs / "stdout.log", self.pidfile, env)
        _wait(self.ready, lambda: _alive(_read_pid(self.pidfile)), "Elasticsearch",
              self.logs / "qinglang-local.log", 240)
        return f"ready on {self.address}"

    def stop(self) -> bool:
        pid = _read_pid(self.pidfile)
        self.pidfile.unlink(missing_ok=True)
        if _alive(pid):
            _kill_group(pid)  # type: ignore[arg-type]
            return True
        return False

    def status(self) -> Status:
        pid = _read_pid(self.pidfile)
        health = self.health()
        return Status(self.name, health in ("yellow", "green"), self.address, pid if _alive(pid) else None,
                      self.logs / "qinglang-local.log", f"cluster health {health}" if health else "")


# -- PostgreSQL --------------------------------------------------------------------
class Postgres:
    name = "postgres"
    address = "127.0.0.1:5432"
    home = RUN / "postgres"
    data = home / "data"
    logs = home / "logs"
    url = "postgresql+psycopg://qinglang:qinglang@127.0.0.1:5432/qinglang"

    def _as_pg(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def ready(self) -> bool:
        if not (PG_BIN / "pg_isready").exists():
            return False
        return subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", "5432"],
                              timeout=10).returncode == 0

    def _pid(self) -> int | None:
        return _read_pid(self.data / "postmaster.pid")

    def start(self, say: Say = _quiet) -> str:
        if not (PG_BIN / "initdb").exists():
            raise ConfigError(f"PostgreSQL 15 is not installed ({PG_BIN})", hint="apt-get install postgresql-15")
        if self.ready():
            return f"already running on {self.address}"
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            ent = pwd.getpwnam("postgres")
            for p in (self.home, self.logs):
                os.chown(p, ent.pw_uid, ent.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            say("initialising the PostgreSQL cluster…")
            _run(self._as_pg([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                              "--locale=C.UTF-8", "--auth=trust"]), "initdb")
        say("starting PostgreSQL…")
        opts = f"-p 5432 -c listen_addresses=127.0.0.1 -k {self.home}"
        _run(self._as_pg([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.logs / "postgres.log"),
                          "-o", opts, "-w", "-t", "60", "start"]), "pg_ctl start")
        _wait(self.ready, lambda: _alive(self._pid()), "PostgreSQL", self.logs / "postgres.log", 60)
        psql = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", "5432", "-U", "postgres", "-tAc"]
        if not _run(psql + ["SELECT 1 FROM pg_roles WHERE rolname='qinglang'"], "psql").strip():
            _run(psql + ["CREATE ROLE qinglang LOGIN PASSWORD 'qinglang'"], "create role")
        if not _run(psql + ["SELECT 1 FROM pg_database WHERE datname='qinglang'"], "psql").strip():
            _run(psql + ["CREATE DATABASE qinglang OWNER qinglang"], "create database")
        return f"ready on {self.address} ({self.url})"

    def stop(self) -> bool:
        if not _alive(self._pid()):
            return False
        _run(self._as_pg([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]), "pg_ctl stop")
        return True

    def status(self) -> Status:
        pid = self._pid()
        return Status(self.name, self.ready(), self.address, pid if _alive(pid) else None,
                      self.logs / "postgres.log", self.url)


def get(name: str) -> Kafka | Elasticsearch | Postgres:
    kinds: dict[str, type[Kafka] | type[Elasticsearch] | type[Postgres]] = {
        "kafka": Kafka, "elasticsearch": Elasticsearch, "postgres": Postgres}
    try:
        return kinds[name]()
    except KeyError:
        raise ConfigError(f"unknown service {name!r}", hint=f"use one of {', '.join(SERVICES)} or all") from None


def names(which: str) -> list[str]:
    return list(SERVICES) if which == "all" else [get(which).name]
