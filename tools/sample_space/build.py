"""Build the bundled sample space: `python -m tools.sample_space.build [OUT_DIR]`.

Writes corpus.jsonl, spaces.jsonl, users.jsonl, groups.jsonl and qa.jsonl (default: emulator/sample/) from
the source in `tools/sample_space/pages*.py`, `tools/sample_space/posts.py` and the tables below. The output
is committed, so the emulator only ever reads the .jsonl files.

Access (see pages4.py): CORVID has anonymous access on and is read by every signed-in user; CVSUP keeps
the default (every group, not anonymous); HR (People) is read by the group hr and Mira only.
confluence-users has no line in groups.jsonl: it holds every user, as Cloud's default group.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from emulator.corpus import SAMPLE_DIR, write_jsonl
from tools.sample_space import extras as sample_extras
from tools.sample_space import pages1 as sample_pages1
from tools.sample_space import pages2 as sample_pages2
from tools.sample_space import pages3 as sample_pages3
from tools.sample_space import pages4 as sample_pages4
from tools.sample_space import posts as sample_posts
from tools.sample_space.kit import USERS, Doc

SPACES = [
    {"key": "CORVID", "name": "Corvid Platform", "type": "global",
     "description": "The Corvid handbook: install, architecture, operations, API and releases.",
     "permissions": {"users": [], "groups": ["confluence-users", "administrators", "site-admins"],
                     "anonymous": True}},
    {"key": "CVSUP", "name": "Corvid Support", "type": "global",
     "description": "The support desk's space: customer FAQ, support hours, ticket reviews."},
    {"key": "HR", "name": "People", "type": "global",
     "description": "The People team's private space: policies and processes.",
     "permissions": {"users": [USERS["mira"]], "groups": ["hr"], "anonymous": False}},
]
GROUPS = [  # confluence-users is left out on purpose: without a line it holds every user
    {"name": "corvid-security", "members": [USERS["fatima"], USERS["priya"]]},
    {"name": "sre", "members": [USERS["owen"], USERS["kenji"], USERS["lars"]]},
    {"name": "hr", "members": [USERS["helga"], USERS["jonas"]]},
]
NAMES = {
    "mira": ("Mira Okafor", "mira.okafor"), "tomasz": ("Tomasz Wierzbicki", "tomasz.wierzbicki"),
    "priya": ("Priya Raghunathan", "priya.raghunathan"), "lars": ("Lars Henningsen", "lars.henningsen"),
    "ana": ("Ana Beatriz Costa", "ana.costa"), "kenji": ("Kenji Watanabe", "kenji.watanabe"),
    "fatima": ("Fatima Zahra El Idrissi", "fatima.elidrissi"), "owen": ("Owen Gallagher", "owen.gallagher"),
    "helga": ("Helga Lindqvist", "helga.lindqvist"), "jonas": ("Jonas Brandt", "jonas.brandt"),
    "sam": ("Sam Adeyemi", "sam.adeyemi"),
}

# (question, answers that occur verbatim in a gold page's text, gold page ids): exact terms and paraphrases.
QUESTIONS: list[tuple[str, list[str], list[str]]] = [
    ("What does error code CVD-4012 mean?", ["Write-ahead log disk full"], ["65644", "65622"]),
    ("What is the default value of wal.retention_hours?", ["72"], ["65635", "65612"]),
    ("Which port serves the Prometheus metrics?", ["9187"], ["65627", "65603"]),
    ("For how long is an Idempotency-Key remembered, so a retried batch is not stored twice?",
     ["24 hours"], ["65641", "65635"]),
    ("How large can a single event be?", ["256 KiB"], ["65611", "65635", "65644"]),
    ("Which command compresses sealed segments that are not compressed yet?",
     ["corvidctl wal compact"], ["65622"]),
    ("Which PagerDuty service receives the Corvid pages?", ["corvid-prod"], ["65628"]),
    ("If the primary on-call engineer does not react to a page, how long until it goes to the secondary?",
     ["15 minutes"], ["65628"]),
    ("What are our recovery point and recovery time objectives?",
     ["an RPO of 5 minutes and an RTO of 1 hour"], ["65630"]),
    ("How much traffic can one gateway node take?", ["40,000 events per second"], ["65629", "65610"]),
    ("A producer gets HTTP 429 with CVD-3007: what does it mean?",
     ["Tenant quota exceeded"], ["65644", "65651"]),
    ("A client's clock runs several minutes fast and its requests fail: which error code does it get?",
     ["CVD-2044"], ["65653", "65644"]),
    ("Which S3 bucket holds the archived write-ahead log segments?",
     ["corvid-wal-archive"], ["65626", "65630"]),
    ("How do I bring up Corvid with Kafka and MinIO on my laptop?", ["make dev-up"], ["65604"]),
    ("What is the name of the tenant used for local development?", ["acme-dev"], ["65604"]),
    ("Which algorithm compresses sealed WAL segments since 3.6?", ["zstd"], ["65612", "65671", "67001"]),
    ("When was Corvid 3.6 released?", ["22 October 2024"], ["65671"]),
    ("Why did the eu-west gateways refuse events in August 2024?",
     ["The S3 sink credentials had expired"], ["67003"]),
    ("How much faster did the gateway get after caching compiled schema validators?",
     ["40 percent", "126 ms"], ["67002"]),
    ("How many delivery workers does the router run per node by default?", ["16"], ["65613", "65635"]),
    ("Where does a batch end up when every delivery attempt has failed?",
     ["dead-letter sink"], ["65613", "65635"]),
    ("Which TLS versions does the gateway accept?", ["TLS 1.2 and 1.3"], ["65652"]),
    ("What prefix do Corvid API keys start with?", ["cvk_"], ["65661", "65605"]),
    ("Does Keeper store API keys in plain text?", ["Argon2id hash"], ["65661"]),
    ("How long do we keep the audit trail of admin changes?", ["400 days"], ["65662"]),
    ("What is the maximum number of tenants in one cluster?", ["2000 tenants"], ["65642"]),
    ("How long does corvidctl drain wait before giving up?", ["30 minutes"], ["65624"]),
    ("Can the write-ahead log live on an NFS share?",
     ["Never put the write-ahead log on network storage"], ["65603"]),
    ("When is the support desk open?", ["07:00 to 19:00 CET"], ["66001"]),
    ("How many customer tickets were closed between July and September?", ["412 tickets"], ["67007"]),
    ("Which acks setting did Kafka sinks use before Corvid 3.4?", ["acks=1"], ["67006"]),
    ("How long does a release candidate soak in staging before the canary?", ["7 days"], ["65673"]),
    ("Under which etcd key prefix does Keeper keep its state?", ["/corvid/v3/"], ["65614"]),
    ("What error does a producer get when the schema registry is too slow to answer?",
     ["CVD-5031"], ["65615", "65644"]),
]


# Questions asked as one user (email): (question, answers, gold, email, visible). visible False: the gold
# pages must NOT be found for that user (the answer is "not found").
ACCESS_QUESTIONS: list[tuple[str, list[str], list[str], str, bool]] = [
    ("Under which Vault path are the gateway token signing keys kept?", ["secret/corvid/signing"], ["65625"],
     "priya.raghunathan@corvid.example", True),
    ("Under which Vault path are the gateway token signing keys kept?", ["secret/corvid/signing"], ["65625"],
     "mira.okafor@corvid.example", False),
    ("How many weeks of paid parental leave does a parent get?", ["20 weeks"], ["68002"],
     "helga.lindqvist@corvid.example", True),
    ("How many weeks of paid parental leave does a parent get?", ["20 weeks"], ["68002"],
     "sam.adeyemi@corvid.example", False),
    ("On which day of the quarter does the SRE team run its game day?", ["first Thursday of every quarter"],
     ["65681"], "owen.gallagher@corvid.example", True),
    ("Which finding of the 2024 penetration test was rated high?", ["SEC-311"], ["65687"],
     "fatima.elidrissi@corvid.example", True),
]


def docs() -> list[Doc]:
    """Every sample page and blog post, parents before children (part 4 last: earlier lines never move)."""
    return [*sample_pages1.DOCS, *sample_pages2.DOCS, *sample_pages3.DOCS, *sample_posts.DOCS,
            *sample_pages4.DOCS]


def items() -> list[dict[str, Any]]:
    return [doc.item() for doc in docs()]


def users() -> list[dict[str, Any]]:
    return [{"accountId": USERS[key], "displayName": name, "email": f"{login}@corvid.example"}
            for key, (name, login) in NAMES.items()]


def qa() -> list[dict[str, Any]]:
    plain = [{"question": q, "answers": answers, "gold": gold} for q, answers, gold in QUESTIONS]
    asked = [{"question": q, "answers": answers, "gold": gold, "as": email, "visible": visible}
             for q, answers, gold, email, visible in ACCESS_QUESTIONS]
    return plain + asked


def build(out_dir: Path = SAMPLE_DIR) -> dict[str, int]:
    """Write the five sample files; returns line counts per file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return {"corpus.jsonl": write_jsonl(items(), out_dir / "corpus.jsonl"),
            "spaces.jsonl": write_jsonl(SPACES, out_dir / "spaces.jsonl"),
            "users.jsonl": write_jsonl(users(), out_dir / "users.jsonl"),
            "groups.jsonl": write_jsonl(GROUPS, out_dir / "groups.jsonl"),
            "qa.jsonl": write_jsonl(qa(), out_dir / "qa.jsonl"),
            # beyond page bodies (attachments, comments, macros): served with the sample on request
            "extras.jsonl": write_jsonl(sample_extras.items(), out_dir / "extras.jsonl"),
            "qa_extras.jsonl": write_jsonl(sample_extras.qa(), out_dir / "qa_extras.jsonl")}


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_DIR))
