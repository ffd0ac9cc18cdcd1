"""The chat page in a real browser, for the browser tests (tests/integration/test_chat_page*.py) and the
benchmark (bench/chat_page.py): Debian's headless Chromium driven by selenium through Debian's
chromedriver (no browser download), a knowledge base over the sample space, and `kb serve` on it.

- `browser_missing()`: why the browser cannot run here (None when it can);
- `chrome(width, height)`: a headless Chromium with a fresh profile, console logs kept;
- `sample_kb(data_dir)`: the emulator with the bundled sample space and `kb ingest` (the real pipeline
  and the bundled model, in a subprocess) into data_dir; the emulator stays up while the context lasts,
  so the citations' links resolve;
- `kb_serve(data_dir, keys)`: `kb serve` in its own process on a free 127.0.0.1 port, with
  KB_SERVER__API_KEYS=keys (`KEY`, `KEY=user:EMAIL`, `KEY=operator`, comma-separated); yields its URL;
- `ask(driver, question)`: type a question and press Enter; `wait_answer(driver)`: the finished turn.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KB_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--ignore-certificate-errors", "--hide-scrollbars")
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "AIRBYTE_OFFLINE_MODE": "1",
           "DO_NOT_TRACK": "1", "ANONYMIZED_TELEMETRY": "False", "SE_OFFLINE": "true"}


def browser_missing() -> str | None:
    """None when headless Chromium can be driven here; else what is missing and how to get it."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return (f"{path} not found: install Debian's {package} (`make browser`, or "
                    "`apt-get install chromium chromium-driver`) to run the chat page's browser tests")
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: `make setup` installs the test extra"
    return None


@contextmanager
def chrome(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium (fresh profile, no network services) at width x height CSS pixels."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # never let selenium look for a driver online
    profile = tempfile.mkdtemp(prefix="kb-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        set_viewport(driver, width, height)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def set_viewport(driver: Any, width: int, height: int, mobile: bool = False) -> None:
    """The page's viewport, exactly (a headless window's size includes no chrome, but be sure)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def console_errors(driver: Any, allow: tuple[str, ...] = ()) -> list[str]:
    """The console's errors since the last call (SEVERE entries), less those matching `allow`."""
    entries = driver.get_log("browser")
    return [e["message"] for e in entries
            if e.get("level") == "SEVERE" and not any(a in e["message"] for a in allow)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, **OFFLINE, "KB_DATA__DIR": str(data_dir), "KB_CONFIG": "", **extra}


def _kb() -> list[str]:
    exe = Path(sys.executable).with_name("kb")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "retrieval.cli"]


@contextmanager
def sample_kb(data_dir: Path) -> Iterator[Any]:
    """The sample space ingested into data_dir by `kb ingest` (the bundled model); yields the emulator,
    which stays up until the context ends."""
    from emulator.testing import running_emulator

    with running_emulator(sample=True) as emu:
        conf = {**emu.confluence_settings(), "spaces": ""}
        env = _env(data_dir, **{f"KB_CONFLUENCE__{k.upper()}": str(v) for k, v in conf.items()})
        out = subprocess.run([*_kb(), "ingest", "--json"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=900)
        if out.returncode != 0:
            raise RuntimeError(f"kb ingest failed ({out.returncode}):\n{out.stderr[-3000:]}")
        yield emu


@contextmanager
def kb_serve(data_dir: Path, keys: str, *, rate_limit: int = 0, timeout: float = 180) -> Iterator[str]:
    """`kb serve` over data_dir with KB_SERVER__API_KEYS=keys, in its own process on a free loopback port."""
    import httpx

    port = free_port()
    env = _env(data_dir, KB_SERVER__API_KEYS=keys, KB_SERVER__RATE_LIMIT_PER_MINUTE=str(rate_limit))
    log = tempfile.TemporaryFile()  # noqa: SIM115  closed in the finally below, after the process
    proc = subprocess.Popen([*_kb(), "serve", "--port", str(port), "--log-level", "warning"], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"kb serve did not start: {log.read().decode(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# -- driving the page -------------------------------------------------------------------------------
def open_page(driver: Any, url: str, key: str | None) -> None:
    """Load the page and, when it asks, give it `key`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "/")
    if key is not None:
        field = WebDriverWait(driver, 10).until(ec.visibility_of_element_located((By.ID, "key-input")))
        field.send_keys(key)
        driver.find_element(By.ID, "key-save").click()
        WebDriverWait(driver, 10).until(
            lambda d: "pages in" in d.find_element(By.ID, "freshness").text)


def ask(driver: Any, question: str) -> int:
    """Type `question` and press Enter; the number of answer turns before it (its index)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    before = len(driver.find_elements(By.CSS_SELECTOR, "article.answer"))
    box = driver.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    return before


def wait_answer(driver: Any, index: int, timeout: float = 60, poll: float = 0.02) -> Any:
    """The `index`-th answer turn once it is finished (done, not found, or an error), polled every
    `poll` seconds."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def finished(d: Any) -> Any:
        turns = d.find_elements(By.CSS_SELECTOR, "article.answer")
        if len(turns) > index and turns[index].get_attribute("data-state") in ("done", "not-found", "error"):
            return turns[index]
        return False

    return WebDriverWait(driver, timeout, poll_frequency=poll).until(finished)


OVERFLOW_JS = """
const width = document.documentElement.clientWidth;
const out = [];
if (document.documentElement.scrollWidth > width) out.push('document scrolls sideways: ' +
    document.documentElement.scrollWidth + ' > ' + width);
for (const el of document.querySelectorAll('body *')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (el.closest('.visually-hidden')) continue;
  if (r.left < -0.5 || r.right > width + 0.5) {
    out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + el.className +
             ' spans ' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + width);
  }
}
return out;
"""


def overflowing(driver: Any) -> list[str]:
    """Elements that stick out of the viewport sideways (an empty list when the layout fits)."""
    return list(driver.execute_script(OVERFLOW_JS))
