"""Browser test fixtures: one freshly migrated and seeded server per session, Chromium, a page per viewport."""
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}


def fission(binary, *args, env):
    """Runs a fission command, retrying while the binary is briefly missing (e.g. during a rebuild)."""
    for _ in range(60):
        if os.access(binary, os.X_OK):
            break
        time.sleep(1)
    done = subprocess.run([binary, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"fission {' '.join(args)} failed:\n{done.stdout}{done.stderr}"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base, proc, log):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                if r.status == 200 and json.load(r).get("status") == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server not healthy within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server():
    """Base URL of a server on a throw-away SQLite database with the demo data."""
    binary = Path(os.environ.get("FISSION_BIN", ".build/debug/fission"))
    binary = str(binary if binary.is_absolute() else ROOT / binary)
    with tempfile.TemporaryDirectory(prefix="fission-browser-") as var:
        env = {**os.environ, "FISSION_VAR_DIR": var, "FISSION_BCRYPT_COST": "4"}
        env.pop("DATABASE_URL", None)  # always a throw-away SQLite file
        fission(binary, "migrate", "--yes", env=env)
        fission(binary, "seed", env=env)
        port, log = free_port(), Path(var) / "serve.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([binary, "serve", "--hostname", "127.0.0.1", "--port", str(port)],
                                    env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(base, proc, log)
            SERVER_LOG["path"] = log
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


SERVER_LOG = {}


@pytest.fixture(scope="session")
def sms_code(server):
    """The last code the server sent to a phone: the development SMS provider writes it to the log."""
    def sms_code(phone):
        masked = re.escape(f"{phone[:3]}****{phone[-4:]}")
        codes = re.findall(rf"SMS \(logging provider\) to {masked}: \D*(\d{{6}})", SERVER_LOG["path"].read_text())
        assert codes, f"no code was sent to {phone}"
        return codes[-1]

    return sms_code


@pytest.fixture(scope="session")
def registered():
    """Phones of members the tests registered, so member counts can be checked in any test order."""
    return []


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                     args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def device(request):
    return request.param


@pytest.fixture
def new_context(browser, server, device):
    """Opens browser contexts at the test's viewport (Chinese unless another locale is given)."""
    contexts = []

    def new_context(locale="zh-CN"):
        contexts.append(browser.new_context(base_url=server, locale=locale, **VIEWPORTS[device]))
        return contexts[-1]

    yield new_context
    for c in contexts:
        c.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


@pytest.fixture
def snap(device):
    """Screenshots a page as NAME-DEVICE.png and, on the phone, checks it does not scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def snap(page, name):
        page.screenshot(path=SHOTS / f"{name}-{device}.png", full_page=True)
        if device == "phone":
            scroll, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
            assert scroll <= inner + 1, f"{name} ({page.url}) overflows horizontally: {scroll}px > {inner}px"

    return snap


def submit(page, form):
    """Submits the form by its button and returns the HTTP status of the page the browser lands on."""
    with page.expect_navigation() as nav:
        page.locator(f"{form} [type=submit]").click()
    return nav.value.status
