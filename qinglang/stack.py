"""The embedded stack in one process: ingest worker, stream jobs, console.

Used by `qinglang demo` and `qinglang up`; each role alone is in cmd_roles.py.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from core.services import Services

log = logging.getLogger(__name__)


class ConsoleServer:
    """uvicorn serving the console app in a background thread."""

    def __init__(self, services: Services, host: str, port: int) -> None:
        import uvicorn

        from console.app import create_app
        from qinglang.wiring import wire

        self.app = create_app(wire(services))
        self.config = uvicorn.Config(self.app, host=host, port=port, log_level="warning", access_log=False,
                                     timeout_graceful_shutdown=3)
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="console", daemon=True)

    def start(self, wait: float = 15.0) -> ConsoleServer:
        self.thread.start()
        deadline = time.monotonic() + wait
        while not self.server.started and time.monotonic() < deadline and self.thread.is_alive():
            time.sleep(0.05)
        if not self.server.started:
            from core.errors import ServiceUnavailable

            raise ServiceUnavailable(
                f"the console could not listen on {self.config.host}:{self.config.port}",
                hint="the port may be taken: set QINGLANG_PORT or pass --port",
            )
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


class EmbeddedStack:
    def __init__(self, services: Services, *, console: bool = True, host: str | None = None,
                 port: int | None = None) -> None:
        self.services = services
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.console: ConsoleServer | None = None
        self._want_console = console
        self.host = host or services.settings.host
        self.port = port if port is not None else services.settings.port
        self.runner: Any = None
        self.worker: Any = None

    def start(self) -> EmbeddedStack:
        from ingest.worker import IngestWorker
        from stream_jobs.runner import EmbeddedRunner

        self.runner = EmbeddedRunner(self.services)
        self.runner.stop_event = self.stop_event
        self.threads += self.runner.start()
        self.worker = IngestWorker(self.services)
        t = threading.Thread(target=self.worker.run, args=(self.stop_event,), name="ingest", daemon=True)
        t.start()
        self.threads.append(t)
        t = threading.Thread(target=self._housekeeping, name="housekeeping", daemon=True)
        t.start()
        self.threads.append(t)
        if self._want_console:
            self.console = ConsoleServer(self.services, self.host, self.port).start()
        return self

    def _housekeeping(self, every: float = 300.0) -> None:
        """Periodic duties: escalate complaint deadlines that passed."""
        from qinglang.wiring import escalate_overdue

        wait = 5.0
        while not self.stop_event.wait(wait):
            wait = every
            try:
                n = escalate_overdue(self.services)
                if n:
                    log.info("escalated %d overdue complaint deadlines", n)
            except Exception:  # keep the stack running; the next round retries
                log.exception("housekeeping failed")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def wait(self) -> None:
        try:
            while not self.stop_event.is_set():
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass

    def stop(self) -> None:
        self.stop_event.set()
        if self.console:
            self.console.stop()
        for t in self.threads:
            t.join(timeout=10)
        if self.runner is not None:
            self.runner.close()
