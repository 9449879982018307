"""LiveMatcher: hot reload of the lists by atomic swap.

``current()`` returns the matcher to use now. At most every ``min_interval``
seconds it asks the store for its revision (one cheap query); when the lists
changed (or an entry's validity window opened or closed) a new automaton is
built in a background thread while the old one keeps serving, then swapped in
with one assignment. ``start()`` adds a poller thread so the swap happens even
when no text arrives.

    live = LiveMatcher(SqlListStore(services.db))
    for finding in live.current().match(text): ...
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from detectors.lists.store import ListStore
from detectors.matcher.matcher import Matcher

log = logging.getLogger(__name__)


class LiveMatcher:
    def __init__(self, store: ListStore, *, min_interval: float = 1.0) -> None:
        self.store = store
        self.min_interval = min_interval
        self._matcher: Matcher | None = None
        self._lock = threading.Lock()  # one build at a time
        self._builder: threading.Thread | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_check = 0.0
        self.last_error: Exception | None = None
        self.builds = 0

    # -- the matcher to use ---------------------------------------------------------
    def current(self) -> Matcher:
        m = self._matcher
        if m is None:
            return self.refresh()
        now = time.monotonic()
        if now - self._last_check >= self.min_interval:
            self._last_check = now
            if self._stale(m):
                self._build_in_background()
        return m

    def refresh(self) -> Matcher:
        """Build now (in this thread) if the store changed; returns the matcher in use afterwards."""
        with self._lock:
            m = self._matcher
            if m is None or self._stale(m):
                self._swap()
            assert self._matcher is not None
            return self._matcher

    def hotwords(self, limit: int = 100) -> list[str]:
        """Enabled terms, most severe first (vocabulary hints for speech recognition)."""
        return self.current().hotwords(limit)

    # -- background work ------------------------------------------------------------------
    def start(self) -> LiveMatcher:
        """Poll the store in a daemon thread so changes are swapped in without any call."""
        if self._poller is None:
            self._poller = threading.Thread(target=self._poll, name="lists-live", daemon=True)
            self._poller.start()
        return self

    def close(self) -> None:
        self._stop.set()
        for t in (self._poller, self._builder):
            if t is not None and t is not threading.current_thread():
                t.join(timeout=30)
        self._poller = None

    def _poll(self) -> None:
        while not self._stop.wait(self.min_interval):
            try:
                m = self._matcher
                if m is None or self._stale(m):
                    with self._lock:
                        if self._matcher is None or self._stale(self._matcher):
                            self._swap()
            except Exception as exc:  # keep serving the old automaton; try again next round
                self.last_error = exc
                log.warning("list reload failed: %s", exc)

    def _stale(self, m: Matcher) -> bool:
        if m.next_change is not None and datetime.now(UTC) >= m.next_change:
            return True
        return self.store.revision() != m.revision

    def _build_in_background(self) -> None:
        if self._builder is not None and self._builder.is_alive():
            return

        def run() -> None:
            if not self._lock.acquire(blocking=False):
                return  # another build is under way
            try:
                if self._matcher is None or self._stale(self._matcher):
                    self._swap()
            except Exception as exc:
                self.last_error = exc
                log.warning("list reload failed: %s", exc)
            finally:
                self._lock.release()

        self._builder = threading.Thread(target=run, name="lists-build", daemon=True)
        self._builder.start()

    def _swap(self) -> None:
        new = Matcher(self.store.snapshot())
        self._matcher = new  # one assignment: readers see the old or the new, never half
        self.builds += 1
        self.last_error = None
