"""Sample space, part 4: the blog posts and the small Corvid Support space (CVSUP)."""

from __future__ import annotations

from tools.sample_space.kit import Doc, c, code, h, image, link, p, panel, table, ul, user

SUPPORT_HOME = Doc(
    id="66001", title="Corvid Support", space="CVSUP", author="ana", labels=("support",),
    created="2024-02-01T09:00:00.000Z", updated="2024-09-12T09:00:00.000Z", version=5,
    body=h(1, "Corvid Support")
    + p("The support desk answers customer tickets about Corvid. Support hours are 07:00 to 19:00 CET on "
        "weekdays; "
        "priority 1 tickets are answered around the clock by the SRE on-call.")
    + table(["Priority", "First response", "Example"], [
        ["P1", "30 minutes", "Ingestion down for a tenant"], ["P2", "4 business hours", "Throttling, a slow "
                                                                                        "sink"],
        ["P3", "2 business days", "Questions, feature requests"],
    ])
    + p(f"For product details see the {link('Corvid Handbook', 'handbook', space='CORVID')}."),
)

SUPPORT_FAQ = Doc(
    id="66002", title="Customer FAQ", parent="66001", space="CVSUP", author="ana", labels=("support", "faq"),
    created="2024-02-01T10:00:00.000Z", updated="2024-10-03T11:00:00.000Z", version=7,
    body=h(1, "Customer FAQ")
    + h(2, "Can a customer get their events back after a sink outage?")
    + p("Yes, for up to 13 months: the archive keeps sealed segments that long, and the SRE team can replay "
        "a "
        "time range to the customer's sink.")
    + h(2, "Why does my client get 413?")
    + p("An event is over 256 KiB or the batch is over 4 MiB (error CVD-1003). Split the batch.")
    + h(2, "How do I rotate an API key without downtime?")
    + p(f"Create a second key, deploy it, then revoke the old one. A tenant may hold up to 10 active keys. "
        f"Escalations go to {user('priya')}."),
)

POSTS = (
    Doc(id="67001", type="blogpost", title="Corvid 3.6 is out: zstd-compressed WAL segments", author="tomasz",
        labels=("release", "announcement"), created="2024-10-22T12:00:00.000Z", version=1,
        body=p("Corvid 3.6 reached every region today. The headline: sealed write-ahead log segments are now "
               "compressed with zstd, and on our production traffic the WAL volumes shrank by 58 percent.")
        + p(f"The v1 events endpoint is gone. Thanks to {user('lars')} for the compression work. Full list: "
            f"{link('Corvid 3.6 release notes')}.")),
    Doc(id="67002", type="blogpost", title="How we cut p99 ingest latency by 40 percent", author="mira",
        labels=("performance", "gateway"), created="2024-07-09T14:00:00.000Z",
        updated="2024-07-10T08:00:00.000Z",
        version=2,
        body=p("In June the gateway's p99 latency crept up to 210 ms. Profiling showed most of the time in "
               "JSON "
               "schema validation, which compiled each schema again for every request.")
        + p("Caching compiled validators per schema version brought p99 down to 126 ms, a cut of 40 percent, "
            "and freed 18 percent of gateway CPU.")
        + image("latency-before-after.png", "p99 latency before and after the validator cache",
                "p99 ingest latency in June and July 2024.")),
    Doc(id="67003", type="blogpost", title="Postmortem: WAL disks filled up in eu-west", author="owen",
        labels=("postmortem", "incident", "wal"), created="2024-08-16T10:00:00.000Z", version=1,
        body=h(2, "Summary")
        + p("On 14 August 2024 between 06:12 and 09:30 UTC the three gateways in eu-west rejected events "
            "with "
            "CVD-4012 for 41 minutes in total. The S3 sink credentials had expired, so no sealed segment "
            "could be "
            "deleted and the WAL disks filled up.")
        + h(2, "What we changed")
        + ul(["Paused sinks no longer pin segments for more than 6 hours.",
              "A new alert fires at 85 percent WAL disk usage, not 95.",
              "Sink credentials are checked daily and expire alarms go to the owning team."])
        + p(f"Runbook updated: {link('Runbook: WAL disk full')}.")),
    Doc(id="67004", type="blogpost", title="Goodbye v1: migrating producers to /v2/events", author="priya",
        labels=("api", "migration"), created="2024-06-18T09:00:00.000Z", version=1,
        body=p("The v1 endpoint accepted one event per request and no idempotency key. Producers should move "
               "to "
               "/v2/events, which takes batches of up to 1000 events.")
        + code("diff", "- POST /v1/event\n+ POST /v2/events\n+ Idempotency-Key: <uuid>")
        + p("Teams that still call v1 after 3.6 get 404 responses. The migration deadline is 1 October "
            "2024.")),
    Doc(id="67005", type="blogpost", title="Meet the new on-call tooling", author="owen",
        labels=("oncall", "tooling"), created="2024-03-25T11:00:00.000Z", version=1,
        body=p("We moved the Corvid pages from e-mail alerts to PagerDuty. Every alert now links to its "
               "runbook, "
               "and the bot in #corvid-ops posts the graph that triggered it.")
        + panel("info", p("Shadow shifts for new engineers start in April; sign up with the SRE lead."))),
    Doc(id="67006", type="blogpost", title="Kafka sinks now default to acks=all", author="kenji",
        labels=("kafka", "sinks"), created="2024-02-13T15:00:00.000Z", version=1,
        body=p("Until now Kafka sinks used acks=1, which could lose events when a partition leader failed "
               "over. "
               "From Corvid 3.4 the default is acks=all with min.insync.replicas=2 on the topic.")
        + p(f"Throughput per sink drops by about 7 percent. Ask {user('kenji')} if a topic needs the old "
            "setting.")),
    Doc(id="67007", type="blogpost", space="CVSUP", title="Support ticket review for the third quarter",
        author="ana",
        labels=("support", "review"), created="2024-10-07T09:00:00.000Z", version=1,
        body=p("We closed 412 tickets between July and September. The most common topic was throttling "
               "(CVD-3007), with 96 tickets, followed by TLS handshake problems from old clients, with 41.")
        + p("Median time to first response was 52 minutes.")),
    Doc(id="67008", type="blogpost", space="CVSUP", title="Support hours for customers in Asia-Pacific",
        author="ana", labels=("support", "announcement"), created="2024-11-04T08:00:00.000Z", version=1,
        body=p("From 2 December 2024 the support desk also staffs 01:00 to 07:00 CET on weekdays, so "
               "customers in "
               "Asia-Pacific reach a person during their working day. Tickets are still filed through "
               f"{c('support.corvid.example')}.")),
)

DOCS = (SUPPORT_HOME, SUPPORT_FAQ, *POSTS)
