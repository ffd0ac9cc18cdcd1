"""`inspect_page` in-process (the `kb inspect` CLI runs in tests/integration/test_chunk_inspect.py)."""

from __future__ import annotations

from ingest.records import Page
from ingest.text.inspect import inspect_page
from tests.helpers import FIXTURES


def test_inspect_page_without_the_window() -> None:
    page = Page("1", "page", "S", "T", "", 1, "", body_html=(FIXTURES / "structure.xml").read_text())
    data = inspect_page(page, None, window=False)
    assert data["budgets"]["window_tokens"] is None
    assert all(c["window"] is None for c in data["chunks"])
    # RUF015 silenced: the list indexes every block's heading_path (an empty one fails the test);
    # next() would index only the first block
    assert [b["heading_path"][0] for b in data["blocks"]][0] == "Deploying the billing service"  # noqa: RUF015
