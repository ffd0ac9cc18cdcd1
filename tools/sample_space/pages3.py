"""Sample space, part 3: API reference, Troubleshooting, Security and Release notes."""

from __future__ import annotations

from tools.sample_space.kit import (
    Doc,
    c,
    code,
    expand,
    h,
    link,
    noformat,
    p,
    panel,
    status,
    table,
    tasks,
    ul,
    user,
)

API = Doc(
    id="65640", title="API reference", parent="65601", author="priya", labels=("api", "reference"),
    created="2023-11-21T09:00:00.000Z", updated="2024-06-04T10:00:00.000Z", version=6,
    body=h(1, "API reference")
    + p("Corvid has a public ingestion API on port 7443 (REST) and 7444 (gRPC), and an admin API on port "
        "7480. "
        f"All endpoints are versioned under {c('/v2')}. The v1 endpoint was removed in 3.6.")
    + ul([link("Events API"), link("Tenants and quotas API"), link("Admin API"), link("Error codes")]),
)

EVENTS_API = Doc(
    id="65641", title="Events API", parent="65640", author="priya", labels=("api", "events"),
    created="2023-11-21T10:00:00.000Z", updated="2024-10-22T11:00:00.000Z", version=9,
    body=h(1, "Events API")
    + h(2, "POST /v2/events")
    + p(f"Accepts a JSON array of up to 1000 events. Required headers: {c('Authorization: Bearer <key>')} "
        "and "
        f"{c('X-Corvid-Tenant')}. Optional: {c('Idempotency-Key')}; a repeated key within 24 hours returns "
        "the "
        "first response again instead of storing the batch twice.")
    + code("json", '{\n  "batch_id": "b_01HF3Q8Z4K",\n  "accepted": 2,\n  "rejected": [],\n'
           '  "wal_offset": 88213390\n}',
           title="202 Accepted")
    + h(2, "Response codes")
    + table(["Status", "Meaning"], [
        ["202", "Stored durably in the WAL"], ["400", "Malformed JSON (CVD-1001) or schema violation "
                                                      "(CVD-1010)"],
        ["401", "Missing or invalid key (CVD-2001), expired token (CVD-2041)"],
        ["413", "Event or batch too large (CVD-1003)"], ["429", "Tenant quota exceeded (CVD-3007)"],
        ["503", "Node cannot accept writes (CVD-4012) or is draining (CVD-4030)"],
    ])
    + h(2, "gRPC")
    + p(f"The gRPC service {c('corvid.ingest.v2.Ingest')} has one method, {c('Publish')}, with the same "
        "limits. "
        "Use it for high-volume producers: it keeps one stream open per connection.")
    + expand("Example in Python",
             code("python", "import httpx\n\nresp = httpx.post(\n    "
                            "\"https://corvid.internal:7443/v2/events\",\n"
                  "    headers={\"Authorization\": f\"Bearer {key}\", \"X-Corvid-Tenant\": \"shop\"},\n"
                  "    json=[{\"type\": \"page.viewed\", \"data\": {\"path\": \"/\"}}],\n)\n"
                  "resp.raise_for_status()\nprint(resp.json()[\"batch_id\"])")),
)

TENANTS_API = Doc(
    id="65642", title="Tenants and quotas API", parent="65640", author="priya",
    labels=("api", "tenants", "quota"),
    created="2023-11-22T09:30:00.000Z", updated="2024-05-13T16:00:00.000Z", version=5,
    body=h(1, "Tenants and quotas API")
    + table(["Method and path", "Purpose"], [
        [c("GET /v2/tenants/{id}"), "Tenant settings and current quota"],
        [c("PATCH /v2/tenants/{id}/quota"), "Change events_per_second and burst"],
        [c("GET /v2/tenants/{id}/usage?window=1h"), "Accepted, rejected and throttled counts"],
    ])
    + p("The default quota is 5000 events per second with a burst of 10000. A quota above 100000 events per "
        "second needs approval from the capacity review, because it can starve other tenants on shared "
        "nodes.")
    + p("A cluster holds at most 2000 tenants; the limit comes from the size of the etcd watch cache."),
)

ADMIN_API = Doc(
    id="65643", title="Admin API", parent="65640", author="mira", labels=("api", "admin"),
    created="2023-12-05T10:00:00.000Z", updated="2024-08-12T09:00:00.000Z", version=4,
    body=h(1, "Admin API")
    + p(f"The admin API listens on {c('127.0.0.1:7480')} by default and requires a client certificate issued "
        "by "
        "the ops CA. corvidctl uses it under the hood.")
    + table(["Endpoint", "Does"], [
        [c("POST /admin/drain"), "Start draining this node"], [c("POST /admin/undrain"), "Stop draining"],
        [c("GET /admin/wal"), "Segments, usage and the oldest unacknowledged offset"],
        [c("POST /admin/wal/compact"), "Compress sealed segments now"],
        [c("POST /admin/log-level"), "Change the log level at run time, e.g. {\"level\": \"debug\"}"],
    ]),
)

ERRORS = Doc(
    id="65644", title="Error codes", parent="65640", author="priya", labels=("api", "errors", "reference"),
    created="2023-12-06T09:00:00.000Z", updated="2024-10-22T12:00:00.000Z", version=12,
    body=h(1, "Error codes")
    + p("Every error response has the shape shown below; the code is stable across releases, the message is "
        "not.")
    + code("json", '{"error": {"code": "CVD-3007", "message": "tenant quota exceeded", '
           '"retry_after_ms": 400}}')
    + table(["Code", "HTTP", "Meaning", "What to do"], [
        [c("CVD-1001"), "400", "Body is not valid JSON", "Fix the producer"],
        [c("CVD-1003"), "413", "Event over 256 KiB or batch over 4 MiB", "Split the batch"],
        [c("CVD-1010"), "400", "Event does not match the registered schema", "Check the JSON pointer in the "
                                                                             "message"],
        [c("CVD-2001"), "401", "Missing or unknown API key", "Check the key and the tenant header"],
        [c("CVD-2041"), "401", "Signed token expired", "Request a new token; tokens live 60 minutes"],
        [c("CVD-2044"), "401", "Token issued in the future: clock skew over 300 seconds", "Fix NTP on the "
                                                                                          "client"],
        [c("CVD-3007"), "429", "Tenant quota exceeded", "Back off for retry_after_ms"],
        [c("CVD-4012"), "503", "Write-ahead log disk full", "Operators: follow the WAL disk full runbook"],
        [c("CVD-4020"), "-", "WAL record checksum mismatch (router log only)", "Replay from the archive"],
        [c("CVD-4030"), "503", "Node is draining", "Retry; the load balancer moves you"],
        [c("CVD-5002"), "-", "Sink unavailable (router log only)", "Check the sink"],
        [c("CVD-5031"), "503", "Schema registry timeout", "Retry with backoff"],
    ]),
)

TROUBLESHOOTING = Doc(
    id="65650", title="Troubleshooting", parent="65601", author="ana", labels=("troubleshooting",),
    created="2023-12-12T10:00:00.000Z", updated="2024-09-05T10:00:00.000Z", version=5,
    body=h(1, "Troubleshooting")
    + p("Symptoms that producers and operators report most often, with the fix. Start from the error code if "
        "you "
        f"have one: {link('Error codes')}.")
    + ul([link("Clients receive 429 Too Many Requests"), link("TLS handshake failures"),
          link("Clock skew errors")]),
)

THROTTLED = Doc(
    id="65651", title="Clients receive 429 Too Many Requests", parent="65650", author="ana",
    labels=("troubleshooting", "quota"), created="2024-01-17T10:00:00.000Z",
    updated="2024-07-22T13:00:00.000Z",
    version=4,
    body=h(1, "Clients receive 429 Too Many Requests")
    + p("A 429 with CVD-3007 means the tenant used up its token bucket. The response carries "
        f"{c('retry_after_ms')} and the header {c('Retry-After')}; well-behaved clients wait that long.")
    + h(2, "Is the quota too small?")
    + code("bash", "corvidctl tenants usage shop --window 1h\ncorvidctl tenants get shop | grep quota")
    + p("If throttled events are more than 1 percent of the accepted ones for a day, raise the quota with "
        f"{c('corvidctl tenants set-quota shop --eps 8000 --burst 16000')}. Producers that send in bursts "
        "should "
        "batch instead: one request of 500 events costs the same quota as 500 requests but far less CPU.")
    + panel("tip", p("Retry storms make throttling worse. Clients must add jitter to their backoff.")),
)

TLS = Doc(
    id="65652", title="TLS handshake failures", parent="65650", author="fatima",
    labels=("troubleshooting", "tls"),
    created="2024-02-20T10:00:00.000Z", updated="2024-08-26T10:00:00.000Z", version=3,
    body=h(1, "TLS handshake failures")
    + p(f"Corvid accepts TLS 1.2 and 1.3 only ({c('tls.min_version')} = 1.2). Old Java 7 clients and some "
        "IoT SDKs "
        "offer TLS 1.0 and fail with a handshake alert before any HTTP status is sent.")
    + code("bash", "openssl s_client -connect corvid.internal:7443 -tls1_2 -servername corvid.internal "
                   "</dev/null")
    + p("Certificates are issued by the internal CA for 90 days and renewed automatically 30 days before "
        "expiry "
        "by cert-manager. A client that pins the leaf certificate breaks at every renewal: pin the CA "
        "instead."),
)

CLOCK = Doc(
    id="65653", title="Clock skew errors", parent="65650", author="priya", labels=("troubleshooting", "auth"),
    created="2024-03-04T10:00:00.000Z", updated="2024-03-04T10:00:00.000Z", version=1,
    body=h(1, "Clock skew errors")
    + p("Signed tokens carry an issue time. If it lies more than 300 seconds in the future, the gateway "
        "rejects the "
        "request with CVD-2044. The producer's clock is wrong, not the gateway's: all gateway nodes run "
        "chrony "
        "against the internal time servers.")
    + noformat("$ chronyc tracking | grep 'System time'\nSystem time     : 412.018 seconds fast of NTP time"),
)

SECURITY = Doc(
    id="65660", title="Security", parent="65601", author="fatima", labels=("security",),
    created="2023-11-23T09:00:00.000Z", updated="2024-09-30T10:00:00.000Z", version=7,
    body=h(1, "Security")
    + p(f"Security owner: {user('fatima')}. Report a vulnerability to security@corvid.example; we answer "
        "within "
        "one business day.")
    + ul([link("Authentication and API keys"), link("Audit logging"), link("Security incident response")]),
)

AUTH = Doc(
    id="65661", title="Authentication and API keys", parent="65660", author="fatima",
    labels=("security", "auth"),
    created="2023-11-23T10:00:00.000Z", updated="2024-09-30T10:30:00.000Z", version=8,
    body=h(1, "Authentication and API keys")
    + p(f"Producers authenticate with an API key (prefix {c('cvk_')}) or with a signed token exchanged for a "
        "key. "
        "Keeper stores only an Argon2id hash of each key; a lost key cannot be recovered, only replaced.")
    + table(["Credential", "Lifetime", "Rotation"], [
        ["API key", "Until revoked", "Recommended every 180 days"],
        ["Signed token (Ed25519)", "60 minutes", "Signing keys every 90 days"],
        ["Node certificates (mTLS between nodes)", "90 days", "Automatic, 30 days before expiry"],
    ])
    + code("bash", "corvidctl keys create --tenant shop --name checkout-service\ncorvidctl keys revoke "
                   "cvk_live_3f9a --reason leaked")
    + panel("warning", p("Never put an API key in a URL: gateways log URLs, and the key would end up in log "
                         "storage for 30 days.")),
)

AUDIT = Doc(
    id="65662", title="Audit logging", parent="65660", author="fatima",
    labels=("security", "audit", "compliance"),
    created="2024-01-29T10:00:00.000Z", updated="2024-06-24T10:00:00.000Z", version=3,
    body=h(1, "Audit logging")
    + p("Every change made through the admin API or corvidctl (tenants, keys, routes, quotas, drains) writes "
        "an "
        "audit record with who, what, when and from which address. Audit records go to the tenant "
        f"{c('corvid-audit')}, whose WAL runs with {c('wal.fsync = always')}, and are kept for 400 days.")
    + table(["Field", "Example"], [[c("actor"), "mira.okafor@corvid.example"], [c("action"), "keys.revoke"],
                                    [c("target"), "cvk_live_3f9a"], [c("source_ip"), "10.20.4.17"]]),
)

INCIDENT = Doc(
    id="65663", title="Security incident response", parent="65660", author="fatima",
    labels=("security", "incident"), created="2024-04-15T10:00:00.000Z", updated="2024-10-10T10:00:00.000Z",
    version=4, restrictions={"users": [], "groups": ["corvid-security"]},
    body=h(1, "Security incident response")
    + panel("note", p("Only the corvid-security group can read this page."))
    + ul(["Declare the incident in #sec-incident and page the security on-call.",
          "Revoke leaked keys at once with corvidctl keys revoke; revocation reaches every gateway within 10 "
          "seconds.",
          "Preserve evidence: snapshot the audit tenant before anything else.",
          "Notify affected customers within 72 hours if their data was exposed."], ordered=True)
    + tasks([("Tabletop exercise for 2024 done", True), ("Update the customer notice template", False)]),
)

RELEASE_NOTES = Doc(
    id="65670", title="Release notes", parent="65601", author="tomasz", labels=("release",),
    created="2023-11-24T09:00:00.000Z", updated="2024-11-04T09:00:00.000Z", version=10,
    body=h(1, "Release notes")
    + p("We release a minor version every four months and patch releases when needed. Each minor version is "
        "supported for 12 months.")
    + ul([link("Corvid 3.6 release notes"), link("Corvid 3.5 release notes"), link("Release process")]),
)

RN36 = Doc(
    id="65671", title="Corvid 3.6 release notes", parent="65670", author="tomasz", labels=("release", "3.6"),
    created="2024-10-22T08:00:00.000Z", updated="2024-11-04T09:30:00.000Z", version=3,
    body=h(1, "Corvid 3.6") + p(f"Released on 22 October 2024. {status('Green', 'Current')}")
    + h(2, "New")
    + ul(["Sealed WAL segments are compressed with zstd by default (wal.compression).",
          "corvidctl replay can read archived segments straight from S3.",
          "New metric corvid_router_dead_letters_total."])
    + h(2, "Removed")
    + ul(["The v1 events endpoint and the key ingest.legacy_v1_endpoint."])
    + h(2, "3.6.2 (4 November 2024)")
    + p("Fixes a crash of the router when a Kafka broker returned an empty metadata response (CVD-5002 was "
        "logged in a loop)."),
)

RN35 = Doc(
    id="65672", title="Corvid 3.5 release notes", parent="65670", author="tomasz", labels=("release", "3.5"),
    created="2024-06-04T08:00:00.000Z", updated="2024-06-04T08:00:00.000Z", version=1,
    body=h(1, "Corvid 3.5") + p(f"Released on 4 June 2024. {status('Yellow', 'Supported until June 2025')}")
    + ul(["Schema registry: schemas can be registered per event type.",
          "Idempotency-Key header with a 24-hour window.",
          "Deprecated: the v1 events endpoint (removed in 3.6)."]),
)

RELEASE_PROCESS = Doc(
    id="65673", title="Release process", parent="65670", author="tomasz", labels=("release", "process"),
    created="2024-01-03T09:00:00.000Z", updated="2024-10-01T09:00:00.000Z", version=6,
    body=h(1, "Release process")
    + p(f"Releases are cut by the release manager ({user('tomasz')}) from the {c('release/3.x')} branch. A "
        "release "
        "candidate soaks in staging for 7 days and then goes to one production region (the canary region "
        "eu-west) "
        "for 48 hours before the rest.")
    + tasks([("Freeze the release branch and tag the candidate", True), ("Run the 24-hour soak test", True),
             ("Canary in eu-west for 48 hours", False), ("Roll out to all regions", False),
             ("Publish the release notes", False)]),
)

DOCS = (API, EVENTS_API, TENANTS_API, ADMIN_API, ERRORS, TROUBLESHOOTING, THROTTLED, TLS, CLOCK, SECURITY,
        AUTH,         AUDIT, INCIDENT, RELEASE_NOTES, RN36, RN35, RELEASE_PROCESS)

