"""ingest.text.clean on our own storage-format fixtures (tests/fixtures/storage): one test per construct."""

from __future__ import annotations

import re

import pytest

from ingest.records import Block
from ingest.text.clean import clean
from tests.helpers import FIXTURES

USERS = {"557058:aaaa-bbbb": "Dana Reyes", "8a7f808a": "Sam Ito"}


def blocks(name: str) -> list[Block]:
    return clean((FIXTURES / name).read_text(encoding="utf-8"), users=USERS)


def texts(name: str) -> list[str]:
    return [b.text for b in blocks(name)]


def find(bs: list[Block], needle: str) -> Block:
    return next(b for b in bs if needle in b.text)


def test_paragraphs_headings_and_entities() -> None:
    bs = blocks("structure.xml")
    first = bs[0]
    assert first.kind == "text"
    assert first.heading_path == ("Deploying the billing service",)
    assert first.text == ("The billing service runs in three regions – each has its own database.\n"
                          "Deploys happen on weekdays only.")
    access = find(bs, "deployer role")
    assert access.heading_path == ("Deploying the billing service", "Before you start", "Access")
    rollback = find(bs, "Roll back with")
    # h2 after h3 pops back to the h2 level
    assert rollback.heading_path == ("Deploying the billing service", "Rolling back")
    # escaped markup stays text; named and numeric entities are decoded
    assert "AT&T links <b>stay</b> text © 2024 ™ ☃." in rollback.text


def test_nested_lists_keep_order_markers_and_indent() -> None:
    lists = [b for b in blocks("structure.xml") if b.kind == "list"]
    assert lists[0].text == ("- Check the dashboard is green\n"
                             "- Ask in the channel\n"
                             "  - mention the ticket\n"
                             "  - mention the version\n"
                             "    1. major\n"
                             "    2. minor")
    assert lists[1].text == "5. Fifth step\n6. Sixth step"  # <ol start="5">


def test_inline_comment_marker_removed_text_kept_quote_and_rule() -> None:
    bs = blocks("structure.xml")
    assert "Check the dashboard is green" in bs[1].text
    assert find(bs, "Never roll back").kind == "quote"
    assert bs[-1].text == "Tail paragraph."


def test_code_macro_fenced_with_language_and_cdata_split() -> None:
    code = [b for b in blocks("macros.xml") if b.kind == "code"]
    assert code[0].text == ('```python\ndef charge(amount):\n    if amount < 0 and amount != 1:\n'
                            '        return "]]>"\n    return amount\n```')
    assert code[1].text == "```\nexit code   3   means   retry\n```"  # noformat: verbatim, no language


@pytest.mark.parametrize("label", [
    "Warning: Do not restart the primary during business hours.",
    "Info: Metrics are kept for 30 days.",
    "Note — Quota: Each team gets 40 builds a day.",
    "Tip: Use the dry run first.",
    "Panel — Owners: The payments team owns this page.",
    "Expand — Why three regions?: Latency for customers in Asia.",
    "Excerpt: Billing deploys are boring on purpose.",
    "Info: Legacy macro body.",
])
def test_panels_keep_their_body_with_a_label(label: str) -> None:
    assert label in texts("macros.xml")


def test_status_jira_unknown_macros_and_noise() -> None:
    all_text = "\n".join(texts("macros.xml"))
    assert "State: In review and ticket BILL-42." in all_text
    assert "Calendar body text survives." in all_text          # unknown macro keeps its body
    assert "Placeholder gone." in texts("macros.xml")            # ac:placeholder dropped
    for noise in ("maxLevel", "Emacs", "linenumbers", "parameter noise", "Yellow", "cal-9", "@self",
                  "Type your summary", "JIRA"):
        assert noise not in all_text
    assert not any(b.text.strip() == "" for b in blocks("macros.xml"))


def test_links_resolve_to_body_or_target_title() -> None:
    first = texts("links.xml")[0]
    assert first == "See the runbook, Escalation policy, Q3 retro, limits.csv and the plan."


def test_users_by_display_name_never_raw_ids() -> None:
    owner = texts("links.xml")[1]
    assert owner == "Owner: Dana Reyes, backup (unknown user), reviewer Sam Ito."
    assert "557058" not in "\n".join(texts("links.xml"))
    assert "557058" not in "\n".join(b.text for b in clean((FIXTURES / "links.xml").read_text()))


def test_images_keep_alt_and_caption_emoticons_and_time() -> None:
    ts = texts("links.xml")
    assert "[image: Request flow — Figure 1: from the edge to the database]" in ts
    assert "Done ✅ on 2024-05-01." in ts  # image without alt text leaves nothing
    assert "External: status page and https://wiki.example.com/x." in ts


def test_tables_rows_as_header_value_with_header_line() -> None:
    bs = [b for b in blocks("tables.xml") if b.kind == "table"]
    limits = bs[0]
    assert limits.table_header == "Plan | Requests per minute | Support"
    assert limits.heading_path == ("Limits",)
    assert limits.text.split("\n") == [
        "Plan: Free; Requests per minute: 60; Support: Community",
        "Plan: Team; Requests per minute: 600; Support: email chat",
        "Plan: Enterprise (custom); Support: Dedicated",    # colspan=2 covers the second column
    ]
    contacts = bs[1]
    assert contacts.table_header == ""
    assert contacts.text == "Pager: +1 555 0100\nChannel: #billing-oncall"  # row headers
    assert bs[2].table_header == "Region | Status"
    assert bs[2].text == "Region: eu; Region: west; Status: up"


def test_layouts_in_reading_order_task_lists_and_adf_panel() -> None:
    bs = blocks("layout.xml")
    assert [b.text for b in bs[:2]] == ["Left text comes first.", "Right text comes second."]
    tasks = find(bs, "Freeze")
    assert tasks.kind == "list"
    assert tasks.text == "[x] Freeze the branch\n[ ] Tag the release\n  [ ] Sign the tag"
    assert tasks.heading_path == ("Checklist",)
    assert bs[-1].text == "Warning: Panel from the new editor."  # the ADF fallback is not repeated
    assert sum("Panel from the new editor" in b.text for b in bs) == 1


def test_broken_markup_keeps_the_text() -> None:
    all_text = "\n".join(texts("broken.xml"))
    for piece in ("Unclosed paragraph with bold", "Second & third paragraph", "&bogus; entity",
                  "Unknown namespace body", "item one", "item two", "cell without tbody",
                  "second cell", "End of the page", "never closed"):
        assert piece in all_text
    assert not re.search(r"</?\w+[:>]", all_text)


@pytest.mark.parametrize("body", [
    "", "   ", "plain text, no tags", "<", "<<<>>>", "</p>", "<p", "&", "&#0;", "&#xD800;", "&#99999999;",
    "<![CDATA[", "]]>", "<ac:structured-macro ac:name='code'>", "<?xml version='1.0'?><p>x</p>",
    "<!DOCTYPE html><p>x</p>", "<p>\x00\x01 nul \ud800 surrogate</p>", "<x:y:z>t</x:y:z>",
    "<p xmlns='http://www.w3.org/1999/xhtml'>ns</p>", "<ac:link><ri:user/></ac:link>",
    "<table><tr><td colspan='abc'>x</td></tr></table>", "<ol start='x'><li>a</li></ol>",
])
def test_garbage_never_raises(body: str) -> None:
    result = clean(body)
    assert all(isinstance(b, Block) and b.text == b.text.strip() and b.text for b in result)


def test_bytes_in_a_bad_encoding_are_decoded() -> None:
    latin = "<p>Café résumé</p>".encode("cp1252")
    assert clean(latin)[0].text == "Café résumé"
    assert clean("<p>déjà</p>".encode())[0].text == "déjà"


def test_nesting_thousands_deep_keeps_text_after_it() -> None:
    depth = 5000
    body = "<div>" * depth + "<p>deep text</p>" + "</div>" * depth + "<p>after the deep part</p>"
    all_text = "\n".join(b.text for b in clean(body))
    assert "deep text" in all_text and "after the deep part" in all_text
    lists = "<ul><li>x" * 3000 + "</li></ul>" * 3000
    assert clean(lists)
    spans = "<p>" + "<span>" * 3000 + "inline" + "</span>" * 3000 + "</p>"
    assert clean(spans)[0].text == "inline"


def test_ten_megabyte_page() -> None:
    para = "<p>" + "word " * 200 + "</p>"
    body = "<h2>Big</h2>" + para * (10_000_000 // len(para))
    result = clean(body)
    assert len(result) == 10_000_000 // len(para)
    assert result[0].heading_path == ("Big",)


def test_a_panel_body_stays_one_block_with_its_label() -> None:
    body = ('<ac:structured-macro ac:name="warning"><ac:rich-text-body><p>Before a failover:</p>'
            "<ul><li>drain the queue</li><li>page the owner</li></ul><p>Then wait.</p>"
            "</ac:rich-text-body></ac:structured-macro>"
            '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">Details</ac:parameter>'
            '<ac:rich-text-body><p>Some text.</p><ac:structured-macro ac:name="code"><ac:plain-text-body>'
            "<![CDATA[x = 1]]></ac:plain-text-body></ac:structured-macro></ac:rich-text-body>"
            "</ac:structured-macro>")
    bs = clean(body)
    assert bs[0] == Block("panel",
                          "Warning: Before a failover:\n- drain the queue\n- page the owner\nThen wait.")
    assert [(b.kind, b.text) for b in bs[1:]] == [("text", "Expand — Details: Some text."),
                                                  ("code", "```\nx = 1\n```")]


def test_html_links_keep_their_text_or_address() -> None:
    body = ('<p>See <a href="https://x.example/y"></a>, <a href="#top"></a>and '
            '<a href="https://z.example">the <b>docs</b></a>.</p><a href="https://z.example">loose</a> tail')
    assert [b.text for b in clean(body)] == ["See https://x.example/y, and the docs.", "loose tail"]
