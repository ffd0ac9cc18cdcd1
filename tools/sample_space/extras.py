"""The sample space beyond page bodies: attachments of every indexed type (files written by
tools/sample_space/files.py), footer and inline comments, a Jira-issues macro page, an excerpt-include
and a page-properties page, with questions answerable only from them (qa_extras.jsonl).

Corpus lines are appended after the pages (earlier lines never move); ids 65690+ and att70001+.
"""

from __future__ import annotations

from typing import Any

from tools.sample_space.files import attachment_item, make_file
from tools.sample_space.kit import USERS, Doc

SPACE = "CORVID"
FILES: list[tuple[str, str, str, dict[str, Any]]] = [  # (attachment id, page id, file name, spec)
    (
        "att70001",
        "65616",
        "adr-012-wal-segment-store.pdf",
        {
            "lines": [
                "ADR-012: a segment store for the write-ahead log",
                "Decision: the WAL index moves from LevelDB to Talon, our log-structured segment store.",
                "Reason: LevelDB compactions stalled ingest for up to 900 milliseconds under load.",
                "Status: accepted in the architecture review of 14 March.",
            ]
        },
    ),
    (
        "att70002",
        "65628",
        "oncall-rota-2025-q1.xlsx",
        {
            "sheets": {
                "Q1 rota": [
                    ["Week", "Primary", "Secondary"],
                    ["Week 1", "Priya Raghunathan", "Owen Gallagher"],
                    ["Week 2", "Owen Gallagher", "Sam Adeyemi"],
                    ["Week 3", "Fatima El Idrissi", "Priya Raghunathan"],
                    ["Week 4", "Sam Adeyemi", "Fatima El Idrissi"],
                ]
            }
        },
    ),
    (
        "att70003",
        "65671",
        "corvid-3.6-launch-deck.pptx",
        {
            "slides": [
                ("Corvid 3.6 launch", ["Launch webinar on 22 May at 16:00 UTC", "Codename: Magpie"]),
                (
                    "What customers get",
                    ["zstd WAL segments cut disk use by 38 percent", "Faster tenant quotas"],
                ),
            ]
        },
    ),
    (
        "att70004",
        "65630",
        "dr-drill-2025-report.docx",
        {
            "title": "Disaster recovery drill report",
            "paragraphs": [
                "The March drill restored the eu-west cluster from the WAL archive in 47 minutes.",
                "The recovery point was 90 seconds behind the last accepted batch.",
            ],
            "table": [
                ["Step", "Duration"],
                ["Provision nodes", "12 minutes"],
                ["Replay archive", "31 minutes"],
            ],
        },
    ),
    (
        "att70005",
        "65635",
        "gateway-tuning-defaults.csv",
        {
            "table": [
                ["Setting", "Default", "Meaning"],
                ["gateway.hedge_delay_ms", "35", "wait before a hedged retry"],
                ["gateway.idle_drain_seconds", "240", "idle time before a drained node closes"],
            ]
        },
    ),
    (
        "att70006",
        "65604",
        "devbox-bootstrap.md",
        {
            "text": (
                "# Devbox bootstrap\n\nRun `corvid devbox up --fresh` to build a clean devbox.\n\n"
                "## Reset\n\nThe devbox keeps its data in the volume named corvid-devbox-data.\n"
            )
        },
    ),
    (
        "att70007",
        "65611",
        "gateway-faq.html",
        {
            "text": (
                "<h1>Gateway FAQ</h1><h2>Why is my connection closed?</h2>"
                "<p>The gateway closes idle keep-alive connections after 75 seconds.</p>"
            )
        },
    ),
    (
        "att70008",
        "65629",
        "capacity-notes-2025.txt",
        {
            "text": (
                "Capacity notes for 2025.\n\n"
                "One gateway node sustains 42,000 events per second at p99 below 80 ms.\n"
            )
        },
    ),
]
COMMENTS: list[dict[str, Any]] = [
    {
        "id": "65701",
        "parent_id": "65622",
        "author": USERS["owen"],
        "body": "<p>After the eu-west postmortem we moved the WAL disk warning alert down to 80 percent, "
        "so on-call gets paged before the hard stop.</p>",
    },
    {
        "id": "65702",
        "parent_id": "65612",
        "author": USERS["priya"],
        "location": "inline",
        "selection": "a sequence of segment files",
        "body": "<p>Segment files are named by their first sequence number in 20-digit hex.</p>",
    },
]
JIRA = (
    '<ac:structured-macro ac:name="jira" ac:schema-version="1" ac:macro-id="5e1c0d2a-70aa-4d1b-9c1e-'
    '3a2f6b7c8d90"><ac:parameter ac:name="jqlQuery">project = CVD AND fixVersion = 3.7</ac:parameter>'
    "</ac:structured-macro>"
)
PAGES: list[dict[str, Any]] = [
    {
        "id": "65690",
        "parent_id": "65670",
        "title": "Corvid 3.7 release tracker",
        "labels": ["release", "3.7"],
        "body": f"<h1>Corvid 3.7 release tracker</h1><p>The open issues of 3.7:</p>{JIRA}",
    },
    {
        "id": "65692",
        "parent_id": "65602",
        "title": "Corvid jargon",
        "labels": ["reference"],
        "body": '<ac:structured-macro ac:name="excerpt"><ac:rich-text-body><p>A murmuration is a rolling '
        "restart of every gateway node in one availability zone at a time.</p></ac:rich-text-body>"
        "</ac:structured-macro><p>More jargon follows.</p>",
    },
    {
        "id": "65691",
        "parent_id": "65602",
        "title": "Onboarding cheat sheet",
        "labels": ["onboarding"],
        "body": "<h1>Onboarding cheat sheet</h1><h2>Jargon</h2>"
        '<ac:structured-macro ac:name="excerpt-include" '
        'ac:macro-id="77b0e2f1"><ac:parameter ac:name=""><ac:link><ri:page ri:content-title="Corvid '
        'jargon"/></ac:link></ac:parameter></ac:structured-macro>',
    },
    {
        "id": "65693",
        "parent_id": "65616",
        "title": "ADR-013: Keeper quorum of five",
        "labels": ["adr"],
        "body": '<ac:structured-macro ac:name="details" ac:schema-version="1"><ac:rich-text-body>'
        "<table><tbody>"
        "<tr><th>Status</th><td>Approved</td></tr><tr><th>Owner</th><td>Priya Raghunathan</td></tr>"
        "</tbody></table></ac:rich-text-body></ac:structured-macro>"
        "<p>Keeper runs five voters so that two may fail at once.</p>",
    },
]
QUESTIONS: list[tuple[str, list[str], list[str]]] = [
    ("Which segment store replaces LevelDB for the WAL index?", ["Talon"], ["att70001"]),
    ("Who is the primary on-call engineer in week 3 of the Q1 rota?", ["Fatima El Idrissi"], ["att70002"]),
    ("What is the codename of the Corvid 3.6 launch?", ["Magpie"], ["att70003"]),
    ("How long did the March disaster recovery drill take to restore eu-west?", ["47 minutes"], ["att70004"]),
    ("What is the default of gateway.hedge_delay_ms?", ["35"], ["att70005"]),
    ("Which command builds a clean devbox?", ["corvid devbox up --fresh"], ["att70006"]),
    (
        "After how many seconds does the gateway close idle keep-alive connections?",
        ["75 seconds"],
        ["att70007"],
    ),
    ("How many events per second does one gateway node sustain?", ["42,000"], ["att70008"]),
    (
        "At what percentage does the WAL disk warning alert fire after the eu-west postmortem?",
        ["80 percent"],
        ["65622"],
    ),
    ("How are WAL segment files named?", ["20-digit hex"], ["65612"]),
    ("Which issue tracks the gateway dropping idle TLS sessions?", ["CVD-101"], ["65690"]),
    ("What is a murmuration in Corvid jargon?", ["rolling restart"], ["65691", "65692"]),
]


def items() -> list[dict[str, Any]]:
    """The extra corpus lines: pages first, then comments and attachments (their pages exist)."""
    out = [
        Doc(
            p["id"],
            p["title"],
            p["body"],
            parent=p["parent_id"],
            labels=tuple(p["labels"]),
            created="2025-03-20T09:00:00.000Z",
        ).item()
        for p in PAGES
    ]
    out += [
        {
            "type": "comment",
            "space": SPACE,
            "title": "Re: comment",
            "created": "2025-03-21T10:00:00.000Z",
            **c,
        }
        for c in COMMENTS
    ]
    for att_id, page_id, name, spec in FILES:
        out.append(
            attachment_item(
                att_id,
                page_id,
                SPACE,
                name,
                make_file(name.rsplit(".", 1)[1], spec),
                created="2025-03-22T11:00:00.000Z",
                author=USERS["mira"],
            )
        )
    return out


def qa() -> list[dict[str, Any]]:
    return [{"question": q, "answers": answers, "gold": gold} for q, answers, gold in QUESTIONS]
