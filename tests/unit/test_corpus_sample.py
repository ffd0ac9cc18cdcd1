"""The bundled sample space (the Corvid handbook) and its QA file."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from emulator.access import can_view
from emulator.corpus import (
    SAMPLE_CORPUS,
    SAMPLE_GROUPS,
    SAMPLE_QA,
    SAMPLE_SPACES,
    SAMPLE_USERS,
    read_corpus,
    read_groups,
    read_jsonl,
    read_spaces,
    read_users,
    users_by_id,
)
from tools.sample_space import build as sample_build

WRAP = ('<root xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier">'
        "{}</root>")
FIELDS = {"id", "type", "space", "title", "body", "labels", "author", "created", "updated", "version"}
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return list(read_corpus(SAMPLE_CORPUS))


def text_of(body: str) -> str:
    """The text of a storage body, CDATA included, tags stripped."""
    return "".join(etree.fromstring(WRAP.format(body).encode()).itertext())


def test_sample_counts_and_fields(items: list[dict[str, Any]]) -> None:
    kinds = Counter(i["type"] for i in items)
    assert 50 <= kinds["page"] <= 60 and kinds["blogpost"] == 8
    for item in items:
        assert item.keys() >= FIELDS
        assert item["id"].isdigit() and isinstance(item["version"], int) and item["version"] >= 1
        assert ISO.match(item["created"]) and ISO.match(item["updated"])
        assert item["created"] <= item["updated"]
    assert len({i["id"] for i in items}) == len(items)
    assert Counter((i["space"], i["title"]) for i in items).most_common(1)[0][1] == 1


def test_sample_tree_parents_first(items: list[dict[str, Any]]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        if "parent_id" in item:
            parent = seen.get(item["parent_id"])
            assert parent is not None, f"{item['id']}: parent {item['parent_id']} missing or later"
            assert parent["type"] == "page" and parent["space"] == item["space"] and item["type"] == "page"
        seen[item["id"]] = item
    roots = [i["title"] for i in items if i["type"] == "page" and "parent_id" not in i]
    assert roots == ["Corvid Handbook", "Corvid Support", "People Team"]
    depth = {}
    for item in items:
        depth[item["id"]] = depth[item["parent_id"]] + 1 if "parent_id" in item else 0
    assert max(depth.values()) >= 3


def test_sample_spaces_users_links_resolve(items: list[dict[str, Any]]) -> None:
    spaces = {s["key"] for s in read_spaces(SAMPLE_SPACES)}
    assert all(s["type"] == "global" and s["name"] for s in read_spaces(SAMPLE_SPACES))
    users = users_by_id(SAMPLE_USERS)
    assert all(u["email"] for u in read_users(SAMPLE_USERS))
    titles = {(i["space"], i["title"]) for i in items}
    for item in items:
        assert item["space"] in spaces and item["author"] in users
        body = item["body"]
        text_of(body)  # well-formed
        for account in re.findall(r'ri:account-id="([^"]+)"', body):
            assert account in users, (item["id"], account)
        for match in PAGE_LINK.finditer(body):
            space = match.group(1) or item["space"]
            assert (space, match.group(2)) in titles, (item["id"], match.group(2))
    restricted = [i for i in items if i.get("restrictions")]
    assert 4 <= len(restricted) <= 8
    assert all(set(r["restrictions"]) <= {"users", "groups"} for r in restricted)


PAGE_LINK = re.compile(r'<ri:page (?:ri:space-key="([^"]+)" )?ri:content-title="([^"]+)"')
CONSTRUCTS = {
    "h1": "<h1>", "h2": "<h2>", "code macro": '<ac:structured-macro ac:name="code"',
    "code language": '<ac:parameter ac:name="language">', "CDATA": "<ac:plain-text-body><![CDATA[",
    "noformat": 'ac:name="noformat"', "split CDATA": "]]]]><![CDATA[>", "info": 'ac:name="info"',
    "note": 'ac:name="note"', "warning": 'ac:name="warning"', "tip": 'ac:name="tip"',
    "expand": 'ac:name="expand"', "table header row": "<tr><th>", "task list": "<ac:task-list><ac:task>",
    "task status": "<ac:task-status>complete",
    "layout": "<ac:layout><ac:layout-section", "layout cell": "<ac:layout-cell>",
    "page link": "<ac:link><ri:page ri:content-title=", "cross-space link": 'ri:space-key="CORVID"',
    "link body": "<ac:plain-text-link-body><![CDATA[", "user mention": "<ac:link><ri:user ri:account-id=",
    "status": 'ac:name="status"', "image alt": "<ac:image ", "image caption": "<ac:caption>",
    "attachment": "<ri:attachment ri:filename=", "toc": 'ac:name="toc"', "children": 'ac:name="children"',
    "inline comment": "<ac:inline-comment-marker ac:ref=", "lists": "<ol>",
}


def test_sample_uses_every_storage_construct(items: list[dict[str, Any]]) -> None:
    markup = "".join(i["body"] for i in items)
    missing = [name for name, needle in CONSTRUCTS.items() if needle not in markup]
    assert not missing, f"the sample lacks {missing}"
    assert 'ac:alt="' in markup
    assert any(i["labels"] for i in items) and all(isinstance(i["labels"], list) for i in items)


def test_split_cdata_reads_back_as_one_text(items: list[dict[str, Any]]) -> None:
    body = next(i["body"] for i in items if "]]]]><![CDATA[>" in i["body"])
    assert "]]>" in text_of(body)


def test_qa_answers_occur_in_gold_pages(items: list[dict[str, Any]]) -> None:
    by_id = {i["id"]: i for i in items}
    questions = list(read_jsonl(SAMPLE_QA))
    assert 28 <= len(questions) <= 40
    assert len({(q["question"], q.get("as")) for q in questions}) == len(questions)
    for q in questions:
        assert q["question"].endswith("?") and q["gold"] and q["answers"]
        assert all(g in by_id for g in q["gold"]), q
        texts = [text_of(by_id[g]["body"]) for g in q["gold"]]
        for answer in q["answers"]:
            assert any(answer in t for t in texts), f"{answer!r} is in no gold page of {q['question']!r}"
    assert len({g for q in questions for g in q["gold"]}) >= 25  # the questions cover most of the handbook


def test_committed_sample_matches_its_source(tmp_path: Path) -> None:
    counts = sample_build.build(tmp_path)
    assert counts["corpus.jsonl"] == len(list(read_corpus(SAMPLE_CORPUS)))
    for name in ("corpus.jsonl", "spaces.jsonl", "users.jsonl", "groups.jsonl", "qa.jsonl"):
        committed = (Path(SAMPLE_CORPUS).parent / name).read_bytes()
        stale = f"{name} is stale: run python -m tools.sample_space.build"
        assert (tmp_path / name).read_bytes() == committed, stale


def test_sample_access_questions_agree_with_the_view_rule() -> None:
    """Each "as" question's gold pages are visible to that user exactly when it says "visible"."""
    from emulator.store import Store

    users = read_users(SAMPLE_USERS)
    store = Store.build(read_corpus(SAMPLE_CORPUS), read_spaces(SAMPLE_SPACES), users,
                        groups=read_groups(SAMPLE_GROUPS))
    account = {u["email"]: u["accountId"] for u in users}
    asked = [q for q in read_jsonl(SAMPLE_QA) if "as" in q]
    assert {q["visible"] for q in asked} == {True, False} and len(asked) >= 3
    for q in asked:
        assert all(can_view(store, account[q["as"]], g) is q["visible"] for g in q["gold"]), q
        assert not any(can_view(store, None, g) for g in q["gold"]), q  # none is public
    refused = {q["question"] for q in asked if not q["visible"]}
    assert refused <= {q["question"] for q in asked if q["visible"]}  # each refusal is also answered once
    groups = {g["name"]: g["members"] for g in read_groups(SAMPLE_GROUPS)}
    assert all(m in account.values() for members in groups.values() for m in members)
    assert "confluence-users" not in groups and len(store.members_of("confluence-users")) == len(users)
