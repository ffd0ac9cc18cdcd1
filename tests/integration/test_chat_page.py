"""The chat page (`GET /` on `kb serve`) in a real headless Chromium (Debian's, driven by selenium).

The sample space is ingested once for the module by `kb ingest` (the real pipeline, the bundled model),
and `kb serve` runs on it in its own process on a free loopback port; the emulator stays up so the
citations' links resolve. Each test opens a fresh browser (fresh profile: nothing in session storage),
types into the page as a person does and reads what the page shows. Screenshots go to
build/artefacts/chat-page/ (not committed). Where Chromium or chromedriver is absent, the tests skip
and say how to install them (`make browser`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import KEY, OTHER_KEY, ROOT
from tools.chat_browser import (
    ask,
    browser_missing,
    chrome,
    console_errors,
    kb_serve,
    open_page,
    overflowing,
    sample_kb,
    set_viewport,
    wait_answer,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600),
              pytest.mark.skipif(browser_missing() is not None, reason=str(browser_missing()))]

ARTEFACTS = ROOT / "build" / "artefacts" / "chat-page"
QUESTION = "What does error code CVD-4012 mean?"
READER = "mira.okafor@corvid.example"  # a sample user who may read all three spaces
KEYS = f"{KEY}=user:{READER},{OTHER_KEY}"  # KEY searches as her; OTHER_KEY, a plain key, as anonymous
BLOGPOSTS = {"Corvid 3.6 is out: zstd-compressed WAL segments", "How we cut p99 ingest latency by 40 percent",
             "Postmortem: WAL disks filled up in eu-west", "Goodbye v1: migrating producers to /v2/events",
             "Meet the new on-call tooling", "Kafka sinks now default to acks=all",
             "Support ticket review for the third quarter", "Support hours for customers in Asia-Pacific"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`kb serve` over the sample space (ingested once for the module): its base URL."""
    data_dir = tmp_path_factory.mktemp("chat-page") / "kb"
    with sample_kb(data_dir), kb_serve(data_dir, KEYS) as url:
        yield url


@pytest.fixture
def page(served: str) -> Iterator[Any]:
    """A fresh desktop-sized browser on the chat page, the key given; no console errors at the end."""
    with chrome(1280, 900) as driver:
        open_page(driver, served, KEY)
        yield driver
        assert console_errors(driver) == []


def _by(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)  # type: ignore[no-any-return]


def _sources(turn: Any) -> list[dict[str, str]]:
    from selenium.webdriver.common.by import By

    return [{"title": li.find_element(By.CSS_SELECTOR, ".source-title").text,
             "href": li.find_element(By.CSS_SELECTOR, ".source-title").get_attribute("href"),
             "meta": li.find_element(By.CSS_SELECTOR, ".source-meta").text,
             "quote": li.find_element(By.CSS_SELECTOR, ".source-quote").text}
            for li in turn.find_elements(By.CSS_SELECTOR, ".source")]


WATCH_JS = """
window.__growth = [];  // per change of an answer's text: [characters added, citation links added]
new MutationObserver((records) => {
  for (const r of records) {
    if (r.type !== 'childList' || !r.target.classList.contains('answer-text')) continue;
    const added = [...r.addedNodes];
    window.__growth.push([added.reduce((n, node) => n + node.textContent.length, 0),
                          added.filter((node) => node.matches && node.matches('a.cite')).length]);
  }
}).observe(document.getElementById('log'), {subtree: true, childList: true});
"""


def test_the_answer_streams_in_then_its_citations_and_sources(page: Any) -> None:
    page.execute_script(WATCH_JS)
    turn = wait_answer(page, ask(page, QUESTION))
    assert turn.get_attribute("data-state") == "done", turn.text
    assert "Write-ahead log disk full" in turn.find_element("css selector", ".answer-text").text
    growth = page.execute_script("return window.__growth")
    lengths = [n for n, links in growth if links == 0 and n > 0]
    assert len(set(lengths)) >= 3 and lengths == sorted(lengths), growth  # the text grew, piece by piece
    first_link = next(i for i, (_, links) in enumerate(growth) if links)
    assert all(links == 0 for _, links in growth[:first_link]) and growth[first_link][0] >= max(lengths)
    cites = turn.find_elements("css selector", ".answer-text a.cite")
    assert cites and cites[0].text == "[1]"
    sources = _sources(turn)
    assert sources[0]["title"] == "Error codes" and "CVD-4012" in sources[0]["quote"]
    for source in sources:
        meta = source["meta"]
        assert "Space CORVID" in meta and "›" in meta and "updated 2024-" in meta
    assert int(turn.get_attribute("data-first-word-ms")) > 0
    assert "pages in 3 spaces" in page.find_element("id", "freshness").text
    assert "last sync" in page.find_element("id", "freshness").text
    assert page.find_element("id", "who").text == f"Asking as {READER}"


def test_a_plain_key_asks_as_anonymous_and_sees_only_public_pages(served: str) -> None:
    """CVSUP (the support space) is not open to anonymous users: her key finds it, a plain key not."""
    question = "What are the support hours?"
    with chrome(1280, 900) as driver:
        open_page(driver, served, OTHER_KEY)
        assert driver.find_element("id", "who").text == "Asking as anonymous"
        turn = wait_answer(driver, ask(driver, question))
        shown = _sources(turn)
        assert all("Space CORVID" in s["meta"] for s in shown), shown
        if turn.get_attribute("data-state") == "not-found":
            assert "searches as anonymous" in turn.text
        assert console_errors(driver) == []
    with chrome(1280, 900) as driver:
        open_page(driver, served, KEY)
        assert any("Space CVSUP" in s["meta"] for s in _sources(wait_answer(driver, ask(driver, question))))


def test_a_citation_opens_its_page_at_the_anchor(page: Any, served: str) -> None:
    expected = httpx.post(f"{served}/v1/ask", headers={"Authorization": f"Bearer {KEY}"},
                          json={"question": QUESTION}, timeout=60).json()["citations"][0]
    href = expected["url"] + (f"#{expected['anchor']}" if expected.get("anchor") else "")
    turn = wait_answer(page, ask(page, QUESTION))
    link = turn.find_element("css selector", ".answer-text a.cite")
    assert link.get_attribute("href") == href
    assert link.get_attribute("target") == "_blank" and "noopener" in link.get_attribute("rel")
    assert console_errors(page) == []  # the chat tab is clean; the wiki's tab is the emulator's
    from selenium.webdriver.support.ui import WebDriverWait

    home = page.current_window_handle
    link.click()
    WebDriverWait(page, 10).until(lambda d: len(d.window_handles) == 2)
    page.switch_to.window(next(h for h in page.window_handles if h != home))
    WebDriverWait(page, 10).until(lambda d: d.current_url != "about:blank")
    assert page.current_url == href
    page.close()
    page.switch_to.window(home)
    page.get_log("browser")  # the emulator's page asks for a login: its 401 is not the chat page's


def test_a_follow_up_uses_the_conversation(page: Any) -> None:
    wait_answer(page, ask(page, QUESTION))
    turn = wait_answer(page, ask(page, "and what HTTP status does it return?"))
    assert turn.get_attribute("data-state") == "done", turn.text
    meta = turn.find_element("css selector", ".state").text
    assert "searched for:" in meta and "CVD-4012" in meta  # made standalone from the history
    assert "503" in turn.find_element("css selector", ".answer-text").text
    page.find_element("id", "new-chat").click()
    assert _by(page, "article.answer") == []


def test_filters_change_the_sources(page: Any) -> None:
    question = "What are the support hours?"
    plain = _sources(wait_answer(page, ask(page, question)))
    assert plain and plain[0]["title"] == "Corvid Support"
    options = [o.get_attribute("value") for o in _by(page, "#f-space option")]
    assert options == ["", "CORVID", "CVSUP", "HR"]
    page.find_element("css selector", "#filters summary").click()
    from selenium.webdriver.support.ui import Select

    Select(page.find_element("id", "f-kind")).select_by_value("blogpost")
    assert page.find_element("id", "filter-count").text == "1"
    blog = _sources(wait_answer(page, ask(page, question)))
    assert blog and {s["title"] for s in blog} <= BLOGPOSTS and blog != plain
    Select(page.find_element("id", "f-kind")).select_by_value("")
    page.execute_script("const f = document.getElementById('f-after'); f.value = '2024-10-01';"
                        "f.dispatchEvent(new Event('change'));")
    recent = _sources(wait_answer(page, ask(page, question)))
    assert recent and all(s["meta"].split("updated ")[1] >= "2024-10-01" for s in recent), recent
    Select(page.find_element("id", "f-space")).select_by_value("CVSUP")
    page.find_element("id", "f-clear").click()
    assert not page.find_element("id", "filter-count").is_displayed()


def test_not_found_shows_the_closest_pages(page: Any) -> None:
    turn = wait_answer(page, ask(page, "How do I bake sourdough bread?"))
    assert turn.get_attribute("data-state") == "not-found"
    box = turn.find_element("css selector", ".not-found")
    assert box.is_displayed() and "Not found in the knowledge base." in box.text
    closest = box.find_elements("css selector", ".closest a")
    assert closest and all(a.get_attribute("href").startswith("https://127.0.0.1:") for a in closest)
    assert not turn.find_element("css selector", ".sources").is_displayed()


def test_enter_sends_and_shift_enter_adds_a_line(page: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    box = page.find_element("id", "question")
    box.send_keys("What does error code")
    ActionChains(page).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    box.send_keys("CVD-4012 mean?")
    assert box.get_attribute("value") == "What does error code\nCVD-4012 mean?" and not _by(page, "article")
    box.send_keys(Keys.ENTER)
    turn = wait_answer(page, 0)
    assert turn.get_attribute("data-state") == "done" and box.get_attribute("value") == ""
    assert page.switch_to.active_element == box  # ready for the next question, no mouse needed
    copy = turn.find_element("css selector", "button.copy")
    copy.click()
    WebDriverWait(page, 10).until(lambda d: copy.text != "Copy answer")
    assert copy.text in ("Copied", "Copy failed: select the text instead")
    assert "[1] Error codes https://" in turn.get_attribute("data-copy-text")


def test_a_wrong_key_then_the_right_one(served: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with chrome(1280, 900) as driver:
        open_page(driver, served, None)
        field = driver.find_element(By.ID, "key-input")
        assert field.is_displayed() and field.get_attribute("type") == "password"
        field.send_keys("not-the-key")
        driver.find_element(By.ID, "key-save").click()
        error = driver.find_element(By.ID, "key-error")
        WebDriverWait(driver, 10).until(lambda d: error.is_displayed())
        assert "API key was not accepted" in error.text and "invalid API key" in error.text
        assert driver.find_element(By.ID, "key-input").is_displayed()
        driver.find_element(By.ID, "key-input").send_keys(KEY)
        driver.find_element(By.ID, "key-save").click()
        WebDriverWait(driver, 10).until(lambda d: "pages in" in d.find_element(By.ID, "freshness").text)
        assert driver.execute_script("return sessionStorage.getItem('confluence-kb.api-key')") == KEY
        assert KEY not in driver.current_url
        turn = wait_answer(driver, ask(driver, QUESTION))
        assert turn.get_attribute("data-state") == "done"
        assert console_errors(driver, allow=("/v1/status - Failed to load resource: the server responded "
                                             "with a status of 401",)) == []


def test_busy_and_not_ready_servers_are_explained(tmp_path: Path) -> None:
    """An empty knowledge base (503) behind a rate limit of 3 a minute (429), both in words."""
    with kb_serve(tmp_path / "empty", KEY, rate_limit=3) as url, chrome(1280, 900) as driver:
        open_page(driver, url, None)
        driver.find_element("id", "key-input").send_keys(KEY)
        driver.find_element("id", "key-save").click()  # /v1/status: 1 of 3
        first = wait_answer(driver, ask(driver, QUESTION))  # 2 of 3
        assert "The knowledge base is not ready" in first.text and "kb ingest" in first.text
        wait_answer(driver, ask(driver, QUESTION))  # 3 of 3
        third = wait_answer(driver, ask(driver, QUESTION))
        assert "Too many requests: wait" in third.text and "seconds" in third.text
        assert "never synced" in driver.find_element("id", "freshness").text


@pytest.mark.parametrize(("name", "width", "height"), [("phone", 360, 740), ("desktop", 1280, 900)])
def test_the_layout_fits_phone_and_desktop(served: str, name: str, width: int, height: int) -> None:
    """An answer, then (filters open) a not-found: nothing sticks out sideways; screenshots of both."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    with chrome(width, height) as driver:
        set_viewport(driver, width, height, mobile=width < 600)
        open_page(driver, served, KEY)
        wait_answer(driver, ask(driver, QUESTION))
        assert overflowing(driver) == []
        assert driver.save_screenshot(str(ARTEFACTS / f"{name}-{width}px-answer.png"))
        driver.find_element("css selector", "#filters summary").click()
        wait_answer(driver, ask(driver, "How do I bake sourdough bread?"))
        assert overflowing(driver) == []
        assert driver.save_screenshot(str(ARTEFACTS / f"{name}-{width}px-not-found.png"))
        assert console_errors(driver) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_theme_follows_the_system(served: str, scheme: str) -> None:
    with chrome(1280, 900) as driver:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                               {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
        open_page(driver, served, KEY)
        wait_answer(driver, ask(driver, QUESTION))
        background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        text = driver.execute_script("return getComputedStyle(document.body).color")

        def brightness(css: str) -> float:
            return sum(int(v) for v in css[css.index("(") + 1:css.index(")")].split(",")[:3]) / 765

        dark = brightness(background) < 0.3 and brightness(text) > 0.7
        light = brightness(background) > 0.7 and brightness(text) < 0.3
        assert (dark, light) == (scheme == "dark", scheme == "light"), (background, text)
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(ARTEFACTS / f"desktop-{scheme}.png"))
        assert console_errors(driver) == []
