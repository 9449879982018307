"""A real console (uvicorn in a subprocess, tmp data dir) and Debian's Chromium driven by Playwright.

Screenshots of each step go to test-artifacts/browser/ (gitignored).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from console.users import UserService
from core.services import Services
from core.settings import Settings
from qinglang.wiring import migrate_all

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("QINGLANG_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "browser-pass-1"
ACCOUNTS = {"op": ["operator"], "ana": ["analyst"], "hand": ["handler"], "boss": ["admin"]}
SERVER = """
import uvicorn
from console.app import create_app
uvicorn.run(create_app(), host="127.0.0.1", port={port}, log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """(base_url, services) of a running console over a fresh data dir."""
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    data = tmp_path_factory.mktemp("console-data")
    settings = Settings(data_dir=data)
    migrate_all(settings.db_url)
    svc = Services(settings)
    users = UserService(svc.db)
    for name, roles in ACCOUNTS.items():
        users.create(name, PASSWORD, roles)
    port = _free_port()
    env = {**os.environ, "QINGLANG_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    env.pop("QINGLANG_CONFIG", None)
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(port=port)], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"console did not start: {(data / 'server.log').read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)
    yield base, svc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    svc.close()


@pytest.fixture(scope="session")
def browser(stack):
    from playwright.sync_api import sync_playwright

    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def login(browser, stack):
    """``login("op")`` -> a Page signed in through the form."""
    base, _ = stack
    contexts = []

    def do(name: str):
        ctx = browser.new_context(base_url=base, viewport={"width": 1400, "height": 900}, locale="zh-CN",
                                  accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto("/login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state("domcontentloaded")
        return page

    yield do
    for ctx in contexts:
        ctx.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
