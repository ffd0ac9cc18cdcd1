"""Sample space, part 1: the Corvid handbook's home page, Getting started and Architecture.

Corvid is an invented product (a self-hosted event ingestion gateway); all text here is original.
"""

from __future__ import annotations

from tools.sample_space.kit import (
    Doc,
    c,
    children,
    code,
    comment,
    expand,
    h,
    image,
    layout,
    link,
    noformat,
    p,
    panel,
    status,
    table,
    tasks,
    toc,
    ul,
    user,
)

HOME = Doc(
    id="65601", title="Corvid Handbook", author="ana", labels=("handbook", "start-here"),
    created="2023-11-06T08:30:00.000Z", updated="2024-11-04T10:12:00.000Z", version=14,
    body=toc() + layout(
        ("two_equal", [
            h(1, "Welcome to the Corvid Handbook")
            + p("Corvid is our self-hosted event ingestion gateway. Producers send events over HTTPS or "
                "gRPC, "
                "Corvid writes them to a durable write-ahead log, and the router delivers them to sinks such "
                "as "
                "Kafka, S3 and ClickHouse.")
            + p(f"Current stable release: {status('Green', 'Corvid 3.6.2')}. Handbook owner: {user('ana')}."),
            h(2, "Where to start")
            + ul([link("Installing Corvid"), link("Your first event pipeline"), link("Runbooks"),
                  link("Error codes", "Every CVD error code explained")]),
        ]),
        ("single", [
            h(2, "Sections")
            + table(["Section", "What you find there", "Owner"], [
                [link("Getting started"), "Install, local development, a first pipeline", user("ana")],
                [link("Architecture"), "Gateway, write-ahead log, router, Keeper, schema registry",
                 user("mira")],
                [link("Operations"), "Runbooks, monitoring, on-call, backups", user("owen")],
                [link("API reference"), "Events, tenants, admin endpoints and error codes", user("priya")],
                [link("Security"), "Authentication, TLS, audit logging", user("fatima")],
                [link("Release notes"), "What changed in each release", user("tomasz")],
            ])
            + panel("info", p("The handbook is the source of truth. If a page disagrees with the code, file "
                              "a "
                              "docs ticket in the CORVIDDOCS project and mention the page owner."))
            + children(),
        ]),
    ),
)

GETTING_STARTED = Doc(
    id="65602", title="Getting started", parent="65601", author="ana", labels=("onboarding",),
    created="2023-11-06T09:00:00.000Z", updated="2024-05-21T13:40:00.000Z", version=5,
    body=h(1, "Getting started with Corvid")
    + p("New to Corvid? Read these pages in order. Most engineers have a working local pipeline within one "
        "hour.")
    + ul([link("Installing Corvid"), link("Local development environment"), link("Your first event pipeline"),
          link("Glossary")], ordered=True)
    + panel("tip", p(f"Ask questions in the {c('#corvid-help')} chat channel; {user('ana')} answers "
                     "onboarding "
                     "questions every weekday morning.")),
)

INSTALL = Doc(
    id="65603", title="Installing Corvid", parent="65602", author="mira", labels=("onboarding", "install"),
    created="2023-11-07T10:15:00.000Z", updated="2024-10-28T16:05:00.000Z", version=9,
    body=toc() + h(1, "Installing Corvid")
    + h(2, "System requirements")
    + ul(["Linux x86_64 or arm64, kernel 5.10 or newer",
          "At least 8 vCPU and 16 GiB of memory for a production gateway node",
          "A dedicated XFS or ext4 volume for the write-ahead log, 200 GiB minimum",
          "etcd 3.5 for the Keeper control plane (three or five members)"])
    + panel("warning", p("Never put the write-ahead log on network storage such as NFS: fsync latency there "
                         "stalls ingestion and eventually raises CVD-4012."))
    + h(2, "Packages")
    + p("Corvid ships as a Debian package, an RPM and the container image "
        f"{c('registry.corvid.example/corvid:3.6.2')}. "
        "Install the package on every gateway node:")
    + code("bash", "curl -fsSL https://packages.corvid.example/gpg | sudo gpg --dearmor -o "
                   "/usr/share/keyrings/corvid.gpg\n"
           "sudo apt-get update && sudo apt-get install corvid=3.6.2\n"
           "sudo systemctl enable --now corvid-gateway\ncorvidctl status --wait 60")
    + h(2, "Network ports")
    + table(["Port", "Protocol", "Used for"], [
        ["7443", "HTTPS", "Event ingestion (REST API)"],
        ["7444", "gRPC over TLS", "Event ingestion (gRPC API)"],
        ["7480", "HTTPS", "Admin API, loopback and the ops network only"],
        ["7460", "mTLS", "Gateway to router traffic inside the cluster"],
        ["7946", "TCP and UDP", "Cluster gossip between gateway nodes"],
        ["9187", "HTTP", "Prometheus metrics endpoint"],
    ])
    + h(2, "Configuration file")
    + p(f"The configuration lives in {c('/etc/corvid/corvid.toml')}. Every key is described in the "
        f"{link('Configuration reference')}. After an edit, run {c('corvidctl config check')} and then "
        f"{c('sudo systemctl reload corvid-gateway')}; a reload keeps open connections."),
)

LOCAL_DEV = Doc(
    id="65604", title="Local development environment", parent="65602", author="kenji",
    labels=("onboarding", "development"), created="2023-11-20T14:00:00.000Z",
    updated="2024-09-02T08:55:00.000Z", version=7,
    body=h(1, "Local development environment")
    + p("The repository ships a Docker Compose file that starts Corvid with Kafka, MinIO (as the S3 sink) "
        "and a "
        f"single-member etcd. Run {c('make dev-up')} from the repository root; {c('make dev-down')} removes "
        "everything, including volumes.")
    + code("bash", "git clone git@git.corvid.example:platform/corvid.git\ncd corvid\nmake dev-up\n"
           "export CORVID_TOKEN=$(corvidctl dev token --tenant acme-dev)\n"
           "curl -s https://localhost:7443/v2/health --cacert dev/certs/ca.pem")
    + p(f"The development tenant is called {c('acme-dev')}. Its quota is raised to 50000 events per second "
        "so "
        "that load tests on a laptop are not throttled.")
    + h(2, "Checklist for your first day")
    + tasks([(f"Get access to the {c('platform/corvid')} repository", True),
             ("Run make dev-up and send one event", True),
             (f"Join the on-call shadow rota (ask {user('owen')})", False),
             (f"Read {link('Write-ahead log')}", False)])
    + expand("Troubleshooting the dev stack",
             p(f"If MinIO fails to start, port 9000 is usually taken; set {c('DEV_MINIO_PORT=9010')} in "
               f"{c('dev/.env')}. If Kafka keeps restarting, give Docker at least 6 GiB of memory.")),
)

FIRST_PIPELINE = Doc(
    id="65605", title="Your first event pipeline", parent="65602", author="priya",
    labels=("onboarding", "tutorial"),
    created="2023-12-01T11:30:00.000Z", updated="2024-06-12T09:20:00.000Z", version=4,
    body=h(1, "Your first event pipeline")
    + p("This tutorial creates a tenant, an API key and a route that copies every event of type "
        f"{c('checkout.completed')} to a Kafka topic.")
    + h(2, "1. Create a tenant and a key")
    + code("bash", "corvidctl tenants create shop-demo --quota 2000\ncorvidctl keys create --tenant "
                   "shop-demo --name tutorial\n"
           "# prints a key that starts with cvk_")
    + h(2, "2. Add a route")
    + code("yaml", "routes:\n  - name: checkout-to-kafka\n    tenant: shop-demo\n    match:\n"
           "      type: checkout.completed\n    sink:\n      kind: kafka\n      topic: shop.checkout\n      "
           "acks: all",
           title="routes.yaml")
    + p(f"Apply it with {c('corvidctl routes apply -f routes.yaml')}. Routes take effect within 10 seconds "
        "on every "
        "node, because Keeper pushes them to all gateways.")
    + h(2, "3. Send an event")
    + code("bash", "curl -X POST https://localhost:7443/v2/events \\\n  -H \"Authorization: Bearer "
                   "$CORVID_KEY\" \\\n"
           "  -H 'X-Corvid-Tenant: shop-demo' \\\n  -d "
           "'[{\"type\": \"checkout.completed\", \"data\": {\"order\": 42}}]'")
    + p(f"A 202 response means the batch is durable in the write-ahead log. See {link('Events API')} for the "
        "response body."),
)

GLOSSARY = Doc(
    id="65606", title="Glossary", parent="65602", author="ana", labels=("reference",),
    created="2023-12-04T15:00:00.000Z", updated="2024-03-18T10:00:00.000Z", version=3,
    body=h(1, "Glossary")
    + table(["Term", "Meaning"], [
        ["Tenant", "A customer or internal team; every event belongs to exactly one tenant."],
        ["Segment", "One file of the write-ahead log, 128 MiB by default."],
        ["Route", "A rule that matches events by type or attribute and sends them to a sink."],
        ["Sink", "A destination: Kafka, S3, ClickHouse or an HTTP webhook."],
        ["Keeper", "The control plane service that stores routes, tenants and membership in etcd."],
        ["Drain", "Stopping new traffic to a node while it delivers what its log still holds."],
        ["Replay", "Re-delivering events from archived log segments to a sink."],
    ]),
)

ARCHITECTURE = Doc(
    id="65610", title="Architecture", parent="65601", author="mira", labels=("architecture",),
    created="2023-11-08T09:00:00.000Z", updated="2024-08-19T12:30:00.000Z", version=8,
    body=h(1, "Architecture overview")
    + image("corvid-architecture.png", "Corvid architecture: gateway, write-ahead log, router, sinks",
            "Figure 1. Events flow from producers through the gateway and the log to the router and the "
            "sinks.")
    + p("A Corvid cluster has four moving parts. The gateway accepts and authenticates events. The "
        "write-ahead "
        "log (WAL) makes them durable on local disk. The router reads the log and delivers events to sinks. "
        "Keeper, the control plane, keeps configuration and cluster membership in etcd.")
    + ul([link("Gateway"), link("Write-ahead log"), link("Router and sinks"), link("Keeper control plane"),
          link("Schema registry"), link("Architecture decision records")])
    + h(2, "Design goals")
    + ul(["No acknowledged event is ever lost: the gateway answers 202 only after the WAL fsync.",
          "At-least-once delivery to every sink, with idempotency keys to remove duplicates.",
          "p99 ingest latency under 150 ms at 40,000 events per second per node."]),
)

GATEWAY = Doc(
    id="65611", title="Gateway", parent="65610", author="mira", labels=("architecture", "gateway"),
    created="2023-11-08T10:00:00.000Z", updated="2024-10-01T07:45:00.000Z", version=11,
    body=h(1, "Gateway")
    + p("The gateway is a stateless Go service in front of the write-ahead log. It terminates TLS, checks "
        "the "
        "API key, validates each event against the tenant's schema, applies the tenant quota and appends the "
        "batch to the log.")
    + h(2, "Request path")
    + ul(["TLS termination (TLS 1.2 or newer)", "Authentication: API key or signed token",
          "Quota check against the token bucket of the tenant", "Schema validation", "Append to the WAL and "
                                                                                     "fsync",
          "Respond 202 with the batch id"], ordered=True)
    + h(2, "Limits")
    + table(["Limit", "Default", "Key"], [
        ["Largest single event", "256 KiB", c("ingest.max_event_bytes")],
        ["Largest batch", "4 MiB", c("ingest.max_batch_bytes")],
        ["Events per batch", "1000", c("ingest.max_batch_events")],
        ["Concurrent connections per node", "20000", c("ingest.max_connections")],
    ])
    + p(f"A request over a limit is rejected with {c('413')} and error {c('CVD-1003')}. Owner: "
        f"{user('mira')}."),
)

WAL = Doc(
    id="65612", title="Write-ahead log", parent="65610", author="lars",
    labels=("architecture", "wal", "storage"),
    created="2023-11-09T09:30:00.000Z", updated="2024-10-22T15:10:00.000Z", version=13,
    body=h(1, "Write-ahead log")
    + p("Every accepted batch is appended to the write-ahead log (WAL) on the node's local disk before the "
        "client gets its 202. The WAL is a sequence of segment files; a segment is sealed when it reaches "
        f"{c('wal.segment_size_mb')} (default 128) and deleted after {c('wal.retention_hours')} (default 72) "
        "once "
        "every sink has acknowledged it.")
    + h(2, "Durability modes")
    + table(["wal.fsync", "Behaviour", "When to use"], [
        [c("always"), "fsync after every batch", "Payments and audit tenants"],
        [c("batch"), "fsync every 5 ms or every 1 MiB, whichever comes first (the default)", "Most tenants"],
        [c("never"), "leave flushing to the kernel", "Load tests only"],
    ])
    + panel("note", p("Since Corvid 3.6 sealed segments are compressed with zstd level 3, which saves about "
                      "60 "
                      "percent of disk on JSON events."))
    + h(2, "Checksums")
    + p(f"Each record carries a CRC32C checksum. A mismatch on read raises {c('CVD-4020')} and the router "
        "skips to the next valid record after logging the segment name and offset.")
    + h(2, "Disk layout")
    + noformat("/var/lib/corvid/wal/\n  00000000000000000001.seg\n  00000000000000000002.seg   <- active\n"
               "  checkpoints/router.ckpt\n  # a segment name is its first offset, zero padded to 20 digits")
    + p(f"Questions go to {user('lars')}. When the disk fills up, follow {link('Runbook: WAL disk full')}."),
)

ROUTER = Doc(
    id="65613", title="Router and sinks", parent="65610", author="kenji",
    labels=("architecture", "router", "sinks"),
    created="2023-11-10T13:00:00.000Z", updated="2024-07-30T11:25:00.000Z", version=6,
    body=h(1, "Router and sinks")
    + p("The router tails the WAL, evaluates routes and delivers events to sinks. It runs "
        f"{c('router.workers')} "
        "delivery workers per node (default 16) and keeps a checkpoint per sink, so a restart resumes where "
        "it "
        "stopped.")
    + h(2, "Supported sinks")
    + table(["Sink", "Delivery", "Notes"], [
        ["Kafka", "Batches of up to 500 events", "acks=all by default; topic created on first use if "
                                                 "allowed"],
        ["S3", "Files flushed every 300 seconds or at 64 MiB", "Newline-delimited JSON, gzip"],
        ["ClickHouse", "Inserts of up to 10000 rows", "Needs a table per event type"],
        ["Webhook", "One HTTP POST per batch", "Signed with the header X-Corvid-Signature"],
    ])
    + h(2, "Retries")
    + p(f"A failed delivery is retried up to {c('router.retry.max_attempts')} times (default 8) with "
        "exponential "
        f"backoff starting at {c('router.retry.backoff_ms')} (default 250 ms). After the last attempt the "
        "batch goes "
        f"to the dead-letter sink and the metric {c('corvid_router_dead_letters_total')} increases.")
    + h(2, "XML webhooks")
    + p(f"Legacy receivers can ask for XML with {c('format: xml')} on a webhook sink. Each event body is "
        "wrapped in "
        "a CDATA section, like this:")
    + noformat('<events tenant="shop">\n  <event '
               'type="checkout.completed"><![CDATA[{"order": 42}]]></event>\n'
               "</events>")
    + panel("warning", p("A sink that stays down makes the WAL grow: see "
                         f"{link('Runbook: Kafka sink lag')}.")),
)

KEEPER = Doc(
    id="65614", title="Keeper control plane", parent="65610", author="mira",
    labels=("architecture", "keeper"),
    created="2023-11-13T10:00:00.000Z", updated="2024-04-09T09:00:00.000Z", version=4,
    body=h(1, "Keeper control plane")
    + p("Keeper stores tenants, API key hashes, routes and cluster membership in etcd under the prefix "
        f"{c('/corvid/v3/')}. Gateways watch these keys and apply changes within 10 seconds.")
    + p("Keeper runs as three replicas with leader election. If etcd is unreachable, gateways keep serving "
        "with "
        "the last configuration they saw for up to 24 hours, but new tenants and keys cannot be created.")
    + code("bash", "etcdctl get --prefix /corvid/v3/tenants/ --keys-only | head\ncorvidctl keeper status"),
)

SCHEMAS = Doc(
    id="65615", title="Schema registry", parent="65610", author="priya", labels=("architecture", "schemas"),
    created="2023-12-11T09:45:00.000Z", updated="2024-06-04T14:00:00.000Z", version=5,
    body=h(1, "Schema registry")
    + p("Each tenant may register a JSON Schema per event type. The gateway validates events against the "
        "registered schema and rejects an invalid event with error CVD-1010, naming the failing JSON "
        "pointer.")
    + p(f"Schemas are versioned; a new version must be backward compatible unless it is registered with "
        f"{c('--breaking')}. The gateway caches schemas for 60 seconds. If the registry does not answer "
        "within "
        f"2 seconds the gateway returns {c('CVD-5031')} and the client should retry.")
    + code("json", '{\n  "$id": "checkout.completed/v2",\n  "type": "object",\n  "required": ["order"],\n'
           '  "properties": {"order": {"type": "integer"}}\n}'),
)

ADRS = Doc(
    id="65616", title="Architecture decision records", parent="65610", author="mira",
    labels=("architecture", "adr"),
    created="2024-01-22T10:00:00.000Z", updated="2024-09-16T10:30:00.000Z", version=7,
    body=h(1, "Architecture decision records")
    + table(["ADR", "Decision", "Status"], [
        ["ADR-007", "Use a local write-ahead log instead of writing straight to Kafka",
         status("Green", "Accepted")],
        ["ADR-011", "Store control-plane state in etcd rather than PostgreSQL", status("Green", "Accepted")],
        ["ADR-014", "Compress sealed WAL segments with zstd", status("Green", "Accepted")],
        ["ADR-019", "Replace the v1 events endpoint with /v2/events", status("Green", "Accepted")],
        ["ADR-021", "Exactly-once delivery to Kafka with transactions", status("Yellow", "Proposed")],
    ])
    + h(2, "ADR-007: a local write-ahead log")
    + p("Writing straight to Kafka tied our availability to the Kafka cluster's. With a local log the "
        "gateway "
        "keeps accepting events for up to three days of sink outage at normal traffic. "
        + comment("adr7", "The cost is a second copy of every event on local disk.")),
)

DOCS = (HOME, GETTING_STARTED, INSTALL, LOCAL_DEV, FIRST_PIPELINE, GLOSSARY, ARCHITECTURE, GATEWAY, WAL,
        ROUTER,         KEEPER, SCHEMAS, ADRS)

