"""The generated corpus: deterministic, streaming, a page tree, realistic storage bodies."""

from __future__ import annotations

import inspect
import itertools
import tracemalloc
from collections import Counter

from emulator.corpus import generate, generated_spaces

FIELDS = {"id", "type", "space", "title", "body", "labels", "author", "created", "updated", "version"}


def test_generate_is_a_lazy_generator() -> None:
    gen = generate(20_000, blogposts=500)
    assert inspect.isgenerator(gen)
    tracemalloc.start()
    try:
        first = list(itertools.islice(gen, 50))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 50 and all(item.keys() >= FIELDS for item in first)
    assert peak < 5_000_000, f"taking 50 of 20,000 items peaked at {peak} bytes: not streaming"


def test_generate_is_deterministic_and_seeded() -> None:
    assert list(generate(40, 5, seed=3)) == list(generate(40, 5, seed=3))
    a = [i["body"] for i in generate(10, seed=1)]
    b = [i["body"] for i in generate(10, seed=2)]
    assert a != b


def test_generate_counts_tree_and_uniqueness() -> None:
    items = list(generate(300, blogposts=30, spaces=3))
    kinds = Counter(i["type"] for i in items)
    assert kinds == {"page": 300, "blogpost": 30}
    assert {i["space"] for i in items} == {s["key"] for s in generated_spaces(3)}
    ids = [i["id"] for i in items]
    assert len(set(ids)) == len(ids) and all(x.isdigit() for x in ids)
    seen: dict[str, dict] = {}
    for item in items:
        parent = item.get("parent_id")
        if parent is not None:
            assert item["type"] == "page"
            assert parent in seen, f"{item['id']} comes before its parent {parent}"
            assert seen[parent]["space"] == item["space"] and seen[parent]["type"] == "page"
            assert seen[parent]["created"] <= item["created"]
        assert item["created"] <= item["updated"] and item["updated"].endswith("Z")
        seen[item["id"]] = item
    roots = [i for i in items if i["type"] == "page" and "parent_id" not in i]
    assert len(roots) == 3  # one home page a space
    titles = Counter((i["space"], i["type"], i["title"]) for i in items)
    assert max(titles.values()) == 1, "titles repeat inside a space"


def test_generate_bodies_are_varied_storage_markup() -> None:
    items = list(generate(600, seed=0, spaces=2))
    sizes = sorted(len(i["body"]) for i in items)
    mean = sum(sizes) / len(sizes)
    assert 3500 < mean < 7500, mean
    assert sizes[0] < 1000 and sizes[-1] > 20_000
    text = "".join(i["body"] for i in items[:200])
    for construct in ("<h1>", "<h2>", "<h3>", "<p>", "<ul>", "<ol>", "<table>", "<th>",
                      'ac:name="code"', '<ac:parameter ac:name="language">', "<![CDATA[",
                      'ac:name="info"', 'ac:name="note"', 'ac:name="warning"', "<ri:page ri:content-title=",
                      "<ri:user ri:account-id="):
        assert construct in text, construct
    assert "lorem" not in text.lower()
    assert any(i["labels"] for i in items)
    assert len({i["created"][:4] for i in items}) >= 4  # spread over years


def test_generated_spaces_beyond_the_named_ones() -> None:
    keys = [s["key"] for s in generated_spaces(20)]
    assert len(set(keys)) == 20
    assert all(s["type"] == "global" and s["name"] for s in generated_spaces(20))


def test_generated_bodies_are_well_formed_xml() -> None:
    from lxml import etree

    wrap = ('<root xmlns:ac="http://atlassian.com/content" '
            'xmlns:ri="http://atlassian.com/resource/identifier">'
            "{}</root>")
    for item in generate(120, blogposts=10, seed=5):
        etree.fromstring(wrap.format(item["body"]).encode())


def test_generated_sizes_have_stubs_and_a_long_tail() -> None:
    sizes = [len(i["body"]) for i in generate(2000, seed=7)]
    stubs = sum(s < 500 for s in sizes) / len(sizes)
    long = sum(s > 20_000 for s in sizes) / len(sizes)
    assert 0.02 < stubs < 0.08 and 0.005 < long < 0.05, (stubs, long)
