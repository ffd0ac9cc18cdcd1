"""Sample space, part 2: Operations (runbooks, monitoring, on-call, capacity, backups) and configuration."""

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

OPERATIONS = Doc(
    id="65620", title="Operations", parent="65601", author="owen", labels=("ops",),
    created="2023-11-14T08:00:00.000Z", updated="2024-08-05T09:10:00.000Z", version=6,
    body=h(1, "Operations")
    + p("Everything an operator of a production Corvid cluster needs: runbooks for known failures, the "
        "alerts we "
        f"page on, the on-call rota and how backups work. The SRE lead is {user('owen')}.")
    + ul([link("Runbooks"), link("Monitoring and alerts"), link("On-call rota and escalation"),
          link("Capacity planning"), link("Backup and disaster recovery")]),
)

RUNBOOKS = Doc(
    id="65621", title="Runbooks", parent="65620", author="owen", labels=("ops", "runbook"),
    created="2023-11-14T09:00:00.000Z", updated="2024-10-14T17:00:00.000Z", version=9,
    body=h(1, "Runbooks")
    + p("Each runbook starts with the alert that sends you here, then gives the checks and the fix.")
    + table(["Alert", "Runbook"], [
        [c("CorvidWalDiskAlmostFull"), link("Runbook: WAL disk full")],
        [c("CorvidSinkLagHigh"), link("Runbook: Kafka sink lag")],
        ["Planned maintenance", link("Runbook: Draining a gateway node")],
        ["Quarterly key rotation", link("Runbook: Rotating signing keys")],
        ["Data loss on a node", link("Runbook: Restoring from the WAL archive")],
    ]),
)

WAL_FULL = Doc(
    id="65622", title="Runbook: WAL disk full", parent="65621", author="lars",
    labels=("runbook", "wal", "ops"),
    created="2024-02-02T10:00:00.000Z", updated="2024-08-20T08:40:00.000Z", version=8,
    body=h(1, "Runbook: WAL disk full")
    + panel("warning", p("When the WAL volume passes 95 percent, the gateway stops accepting events and "
                         "answers "
                         "503 with error CVD-4012 (write-ahead log disk full). Producers buffer and retry, "
                         "but "
                         "the clock is ticking."), title="Impact")
    + h(2, "Alert")
    + p(f"{c('CorvidWalDiskAlmostFull')} fires at 85 percent usage for 10 minutes. It pages the on-call SRE.")
    + h(2, "Diagnose")
    + code("bash", "corvidctl wal usage --node $(hostname)\ncorvidctl sinks lag --sort desc | head -5\n"
           "df -h /var/lib/corvid/wal")
    + p("Almost always a sink is down or slow, so sealed segments cannot be deleted. Check the sink lag "
        "first.")
    + h(2, "Fix")
    + ul([f"Fix or pause the slow sink ({c('corvidctl sinks pause NAME')}); paused sinks do not pin segments "
          "for "
          "more than 6 hours.",
          f"Run {c('corvidctl wal compact')} to compress sealed segments that are not compressed yet.",
          f"As a last resort, lower {c('wal.retention_hours')} temporarily; archived segments stay in S3."],
         ordered=True)
    + expand("Why not delete segments by hand?",
             p("The router's checkpoint points into the segments. Deleting one by hand makes the router fail "
               "with "
               "CVD-4020 on restart and needs a replay from the archive.")),
)

SINK_LAG = Doc(
    id="65623", title="Runbook: Kafka sink lag", parent="65621", author="kenji",
    labels=("runbook", "kafka", "ops"),
    created="2024-02-05T14:30:00.000Z", updated="2024-09-09T10:00:00.000Z", version=6,
    body=h(1, "Runbook: Kafka sink lag")
    + p(f"{c('CorvidSinkLagHigh')} fires when a sink is more than 5 minutes behind the head of the WAL. For "
        "Kafka "
        f"sinks the usual causes are broker throttling, a full partition leader or an expired SASL password. "
        f"Deliveries that keep failing report {c('CVD-5002')} (sink unavailable) in the router log.")
    + h(2, "Checks")
    + tasks([(f"Look at {c('corvid_router_delivery_seconds')} on the Sinks dashboard", False),
             ("Check broker request-throttle metrics for the cluster", False),
             (f"Run {c('corvidctl sinks test kafka-main')} to try one delivery by hand", False)])
    + h(2, "Fixes")
    + p(f"Raise {c('router.workers')} from 16 to 32 if brokers are healthy but deliveries are slow; it takes "
        f"effect after {c('systemctl reload corvid-router')}. If the brokers are the problem, page the Kafka "
        "team "
        "and pause the sink so the other sinks keep their throughput."),
)

DRAIN = Doc(
    id="65624", title="Runbook: Draining a gateway node", parent="65621", author="owen",
    labels=("runbook", "ops"),
    created="2024-02-12T11:00:00.000Z", updated="2024-06-17T15:30:00.000Z", version=4,
    body=h(1, "Runbook: Draining a gateway node")
    + p("Use this before kernel upgrades or disk replacement. Draining removes the node from the load "
        "balancer and waits until the router has delivered everything in the node's WAL.")
    + code("bash", "corvidctl drain --node gw-eu-3 --timeout 30m\ncorvidctl status --node gw-eu-3   # wait "
                   "for state=drained\n"
           "sudo systemctl stop corvid-gateway")
    + p(f"A drain times out after 30 minutes by default. Undo it with {c('corvidctl undrain --node NAME')}. "
        "Never "
        "drain more than one node per availability zone at a time."),
)

ROTATE_KEYS = Doc(
    id="65625", title="Runbook: Rotating signing keys", parent="65621", author="fatima",
    labels=("runbook", "security"), created="2024-03-01T09:00:00.000Z", updated="2024-09-30T09:00:00.000Z",
    version=5, restrictions={"users": ["5f0c8e2a1b3d4c0069a1e007", "5f0c8e2a1b3d4c0069a1e008"],
                             "groups": ["corvid-security"]},
    body=h(1, "Runbook: Rotating signing keys")
    + panel("note", p("Restricted to the security group and the SRE lead."))
    + p("Gateway tokens are signed with Ed25519 keys held in Vault under "
        f"{c('secret/corvid/signing')}. Keys are rotated every 90 days; the previous key stays valid for 7 "
        "days "
        "so tokens in flight keep working.")
    + code("bash", "corvidctl keys rotate-signing --vault-path secret/corvid/signing --grace 7d\ncorvidctl "
                   "keys list-signing")
    + p(f"Announce the rotation in {c('#corvid-ops')} one day ahead. {user('fatima')} approves every "
        "rotation."),
)

RESTORE = Doc(
    id="65626", title="Runbook: Restoring from the WAL archive", parent="65621", author="lars",
    labels=("runbook", "wal", "backup"), created="2024-03-11T13:00:00.000Z",
    updated="2024-10-07T12:00:00.000Z",
    version=3,
    body=h(1, "Runbook: Restoring from the WAL archive")
    + p(f"Sealed segments are archived to the S3 bucket {c('corvid-wal-archive')}. To re-deliver a time "
        "range to one "
        f"sink, use {c('corvidctl replay')}; it reads archived segments and feeds them to the router without "
        "going "
        "through the gateway.")
    + code("bash", "corvidctl replay --sink s3-lake --from 2024-08-14T06:00Z --to 2024-08-14T09:30Z "
                   "--dry-run\n"
           "corvidctl replay --sink s3-lake --from 2024-08-14T06:00Z --to 2024-08-14T09:30Z")
    + panel("info", p("Replays are at-least-once: sinks see duplicates unless they honour the idempotency "
                      "key.")),
)

MONITORING = Doc(
    id="65627", title="Monitoring and alerts", parent="65620", author="owen", labels=("ops", "monitoring"),
    created="2023-11-15T10:00:00.000Z", updated="2024-10-21T08:15:00.000Z", version=10,
    body=h(1, "Monitoring and alerts")
    + p(f"Every Corvid process exposes Prometheus metrics on port 9187 at {c('/metrics')}. Dashboards live "
        "in "
        "Grafana in the folder Corvid.")
    + h(2, "Service level objectives")
    + ul(["Ingest availability: 99.95 percent of requests answered with 2xx or 4xx, per 30 days",
          "Ingest latency: p99 under 150 ms", "Delivery freshness: 99 percent of events reach their sinks "
          "within 60 seconds"])
    + h(2, "Alerts that page")
    + table(["Alert", "Condition", "Severity"], [
        [c("CorvidIngestErrorBudgetBurn"), "Error budget burning 14 times faster than allowed for 1 hour",
         "page"],
        [c("CorvidWalDiskAlmostFull"), "WAL volume above 85 percent for 10 minutes", "page"],
        [c("CorvidSinkLagHigh"), "A sink more than 5 minutes behind", "page"],
        [c("CorvidKeeperNoLeader"), "No Keeper leader for 2 minutes", "page"],
        [c("CorvidCertExpiringSoon"), "A TLS certificate expires within 14 days", "ticket"],
    ])
    + code("yaml", "- alert: CorvidWalDiskAlmostFull\n  expr: corvid_wal_disk_used_ratio > 0.85\n  for: 10m\n"
           "  labels:\n    severity: page", title="alerts/wal.yaml"),
)

ONCALL = Doc(
    id="65628", title="On-call rota and escalation", parent="65620", author="owen", labels=("ops", "oncall"),
    created="2023-11-16T09:00:00.000Z", updated="2024-11-01T08:00:00.000Z", version=12,
    body=h(1, "On-call rota and escalation")
    + p("The SRE rotation changes every Monday at 10:00 UTC. Pages arrive through PagerDuty service "
        f"{c('corvid-prod')}. If the primary does not acknowledge within 15 minutes, the page escalates to "
        "the "
        "secondary, and after 30 minutes to the engineering manager.")
    + table(["Week", "Primary", "Secondary"], [
        ["2024-W45", user("owen"), user("lars")], ["2024-W46", user("kenji"), user("mira")],
        ["2024-W47", user("lars"), user("owen")],
    ])
    + panel("tip", p("Swap shifts in the PagerDuty app and post the swap in #corvid-ops; no approval "
                     "needed."))
    + p(f"Current rota status: {status('Blue', 'Up to date')}."),
)

CAPACITY = Doc(
    id="65629", title="Capacity planning", parent="65620", author="owen", labels=("ops", "capacity"),
    created="2024-01-08T10:00:00.000Z", updated="2024-07-01T10:00:00.000Z", version=4,
    body=h(1, "Capacity planning")
    + p("One gateway node with 8 vCPU and 16 GiB of memory sustains about 40,000 events per second of 1 KiB "
        "events with p99 latency under 150 ms. Plan for peak traffic times 1.5, and keep at least three "
        "nodes per "
        "region so that one can be drained.")
    + p("WAL disk: multiply the peak ingest rate in bytes per second by the retention (72 hours by default), "
        "divide by the zstd ratio of about 2.5, and add 30 percent headroom.")
    + noformat("disk = peak_bytes_per_s * 3600 * retention_hours / 2.5 * 1.3\nexample: 20 MB/s -> "
               "20e6*3600*72/2.5*1.3 = 2.7 TB"),
)

BACKUP = Doc(
    id="65630", title="Backup and disaster recovery", parent="65620", author="lars",
    labels=("ops", "backup", "dr"),
    created="2024-01-10T09:00:00.000Z", updated="2024-09-23T14:20:00.000Z", version=6,
    body=h(1, "Backup and disaster recovery")
    + p("Our recovery objectives for the production cluster are an RPO of 5 minutes and an RTO of 1 hour.")
    + ul([f"Sealed WAL segments are uploaded to {c('corvid-wal-archive')} within 5 minutes of sealing and "
          "kept for "
          "13 months.",
          "A nightly job at 02:30 UTC snapshots etcd (the Keeper state) to the same bucket under keeper/.",
          "Restores are rehearsed every quarter; the last rehearsal took 41 minutes."])
    + p(f"To restore Keeper from a snapshot, use {c('corvidctl keeper restore --snapshot FILE')} on a "
        "stopped "
        f"cluster. For events, see {link('Runbook: Restoring from the WAL archive')}."),
)

CONFIG_REF = Doc(
    id="65635", title="Configuration reference", parent="65601", author="mira",
    labels=("reference", "config"),
    created="2023-11-20T09:00:00.000Z", updated="2024-10-22T15:00:00.000Z", version=15,
    body=h(1, "Configuration reference")
    + p(f"All keys of {c('/etc/corvid/corvid.toml')}. Any key can also be set through an environment "
        "variable: "
        f"upper case, dots become double underscores, prefixed with CORVID_ (for example "
        f"{c('CORVID_WAL__RETENTION_HOURS=96')}).")
    + table(["Key", "Default", "Description"], [
        [c("ingest.max_event_bytes"), "262144", "Largest single event (256 KiB)."],
        [c("ingest.max_batch_bytes"), "4194304", "Largest request body (4 MiB)."],
        [c("ingest.max_batch_events"), "1000", "Most events in one batch."],
        [c("ingest.idempotency_window_hours"), "24", "How long an Idempotency-Key is remembered."],
        [c("wal.segment_size_mb"), "128", "Size at which a segment is sealed."],
        [c("wal.retention_hours"), "72", "How long sealed, delivered segments stay on disk."],
        [c("wal.fsync"), "batch", "always, batch or never."],
        [c("wal.compression"), "zstd", "Compression of sealed segments (zstd or none)."],
        [c("router.workers"), "16", "Delivery workers per node."],
        [c("router.retry.max_attempts"), "8", "Attempts before a batch goes to the dead-letter sink."],
        [c("router.retry.backoff_ms"), "250", "First retry delay; doubles on each attempt."],
        [c("auth.token_ttl_minutes"), "60", "Lifetime of a signed gateway token."],
        [c("quota.events_per_second"), "5000", "Default per-tenant rate limit."],
        [c("quota.burst"), "10000", "Token bucket size for short bursts."],
        [c("tls.min_version"), "1.2", "Oldest TLS version accepted."],
        [c("cluster.gossip_port"), "7946", "Port for membership gossip."],
        [c("admin.listen"), "127.0.0.1:7480", "Address of the admin API."],
    ])
    + panel("note", p(f"{c('ingest.legacy_v1_endpoint')} was removed in Corvid 3.6; a config file that still "
                      "sets "
                      "it fails validation.")),
)

DOCS = (OPERATIONS, RUNBOOKS, WAL_FULL, SINK_LAG, DRAIN, ROTATE_KEYS, RESTORE, MONITORING, ONCALL, CAPACITY,
        BACKUP, CONFIG_REF)
