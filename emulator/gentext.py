"""Vocabulary and body builder for the generated corpus (`emulator.corpus.generate`).

Bodies are Confluence storage XHTML assembled from sentence templates over a technical vocabulary
(components, technologies, settings, error codes), so lexical and semantic search over a generated
corpus behaves like search over a real engineering wiki. Everything is driven by a `random.Random`
the caller seeds, so a body is a pure function of its seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from xml.sax.saxutils import escape

COMPONENTS = (
    "billing service", "ingest gateway", "auth proxy", "search indexer", "notification hub",
    "payment ledger", "report builder", "session store", "feature flag service", "audit trail",
    "image resizer", "export worker", "rate limiter", "config server", "metrics collector",
    "scheduler", "webhook dispatcher", "identity broker", "catalog API", "inventory sync",
    "pricing engine", "email relay", "document renderer", "job runner", "cache warmer",
    "log shipper", "tenant manager", "quota service", "backup agent", "edge router",
    "license checker", "data lake loader", "mobile backend", "GraphQL gateway", "recommendation model",
    "fraud scorer", "order pipeline", "shipping tracker", "customer portal", "admin console",
)
TECHS = (
    "Kafka", "PostgreSQL", "Redis", "Kubernetes", "Terraform", "nginx", "Elasticsearch", "RabbitMQ",
    "S3", "DynamoDB", "Prometheus", "Grafana", "Vault", "Consul", "Envoy", "gRPC", "ClickHouse",
    "Airflow", "Spark", "Helm", "ArgoCD", "Jenkins", "GitHub Actions", "OpenTelemetry", "Istio",
    "MySQL", "MongoDB", "Cassandra", "Memcached", "HAProxy", "Fluent Bit", "Loki", "Jaeger", "etcd",
)
TOPICS = (
    "runbook", "architecture overview", "deployment guide", "troubleshooting", "API reference",
    "configuration reference", "onboarding notes", "capacity planning", "incident review",
    "design proposal", "migration plan", "monitoring and alerts", "security review", "FAQ",
    "release checklist", "performance tuning", "data model", "disaster recovery", "SLO definitions",
    "local development setup", "testing strategy", "dependency map", "cost analysis", "retention policy",
    "access control", "schema changes", "load test results", "upgrade notes", "on-call handbook",
    "integration guide", "known issues", "decision log",
)
QUALIFIERS = (
    "Core", "Legacy", "EU", "US", "APAC", "Internal", "Partner", "Batch", "Realtime", "v2", "v3",
    "Staging", "Edge", "Regional", "Shared", "Tier-1", "Experimental", "Sandbox", "Hybrid", "Mobile",
)
ENTITIES = (
    "invoice", "order", "event", "session", "user profile", "payment", "shipment", "report",
    "tenant", "API key", "webhook", "audit record", "metric sample", "document", "job", "snapshot",
    "subscription", "refund", "token", "message", "batch", "index segment", "thumbnail", "quota",
)
TEAMS = (
    "Platform", "Payments", "Data Engineering", "SRE", "Identity", "Growth", "Search", "Mobile",
    "Infrastructure", "Security", "Developer Experience", "Analytics",
)
METRICS = (
    "p99 latency", "error rate", "consumer lag", "queue depth", "CPU throttling", "heap usage",
    "cache hit ratio", "disk IOPS", "open connections", "request rate", "GC pause time", "replication lag",
)
LABELS = (
    "runbook", "architecture", "how-to", "troubleshooting", "api", "security", "onboarding",
    "postmortem", "design", "ops", "reference", "faq", "release", "performance", "database",
    "kubernetes", "monitoring", "draft", "deprecated", "compliance",
)
LANGS = ("python", "bash", "yaml", "sql", "json", "java", "go")
PANELS = ("info", "note", "warning", "tip")
SETTINGS = ("max_batch", "timeout_ms", "pool_size", "retention_days", "workers", "queue_size",
            "flush_interval_s")

SENTENCES = (
    "The {c} reads {e} records from {t} and writes them to {t2} within {n} ms at the 95th percentile.",
    "When {t} is unavailable, the {c} retries each {e} up to {k} times with exponential backoff.",
    "The {team} team owns the {c} and answers pages for it during business hours.",
    "Set {key} to {v} before rolling out the {c} to a new region.",
    "Error {code} means the {c} rejected a {e} because its schema version is older than {k}.",
    "We alert when the {m} of the {c} stays above {n} for more than {k} minutes.",
    "A full reindex of the {c} takes about {k} hours on the current {t} cluster.",
    "The {c} exposes its health check on port {port} and its metrics on port {port2}.",
    "Every {e} carries a tenant id, so the {c} can enforce per-tenant quotas in {t}.",
    "Upgrading {t} to the next minor version requires draining the {c} first.",
    "The default value of {key} is {v}; raising it trades memory for throughput.",
    "Logs from the {c} are shipped through {t} and kept for {k} days.",
    "If the {m} grows steadily, check whether {t} is throttling the {c}.",
    "Deployments of the {c} go through {t} and need approval from the {team} team.",
    "The {c} stores each {e} in {t} partitioned by creation date.",
    "Do not delete {e} rows by hand: the {c} keeps a checksum of every batch.",
    "Since release {ver}, the {c} batches {e} writes in groups of {n}.",
    "A dashboard in {t} shows the {m} of the {c} per region and per tenant.",
    "Secrets for the {c} are stored in {t} and rotated every {k} days.",
    "To reproduce the issue locally, start {t} with the fixture data and run the {c} in debug mode.",
    "The {c} falls back to a read-only mode when {t} reports more than {k} failed writes a minute.",
    "Capacity is planned for {n} {e} requests per second at peak, with {k}x headroom.",
    "The {c} signs outgoing {e} payloads with a key that {t} rotates automatically.",
    "Most {code} errors disappear after the {c} refreshes its {t} connection pool.",
    "For a rollback, redeploy the previous image tag and clear the {c} cache in {t}.",
)
STEPS = (
    "Check the {m} dashboard for the {c}.",
    "Scale the {c} deployment to {k} replicas.",
    "Restart the {t} consumer group used by the {c}.",
    "Confirm that {key} is set to {v} in the environment.",
    "Open an incident in the {team} channel and link this page.",
    "Drain traffic from the affected region through {t}.",
    "Run the smoke tests against the {c} staging endpoint.",
    "Verify that no {e} is stuck in the dead-letter queue.",
    "Rotate the {c} credentials in {t}.",
    "Announce the change window to the {team} team.",
)
CODE = {
    "python": "import {mod}\n\nclient = {mod}.Client(timeout={k})\nfor item in client.list(\"{e}\"):\n"
              "    if item.status == \"failed\":\n        client.retry(item.id, attempts={k2})\n",
    "bash": "kubectl -n {ns} rollout restart deployment/{mod}\nkubectl -n {ns} rollout status "
            "deployment/{mod} --timeout={k}s\ncurl -fsS http://localhost:{port}/healthz && echo ok\n",
    "yaml": "{mod}:\n  replicas: {k}\n  port: {port}\n  {keyleaf}: {v}\n  retry:\n    attempts: {k2}\n"
            "    backoff: exponential\n",
    "sql": "SELECT tenant_id, count(*) AS {mod}_count\nFROM {table}\nWHERE created_at > now() - interval "
           "'{k} days'\nGROUP BY tenant_id\nORDER BY {mod}_count DESC\nLIMIT {k2};\n",
    "json": "{{\n  \"service\": \"{mod}\",\n  \"port\": {port},\n  \"{keyleaf}\": \"{v}\",\n"
            "  \"maxRetries\": {k2}\n}}\n",
    "java": "public final class {cls}Client {{\n  private static final int MAX_RETRIES = {k2};\n"
            "  public {cls}Client(String baseUrl) {{ this.baseUrl = baseUrl; }}\n}}\n",
    "go": "func (s *{cls}Server) Start(ctx context.Context) error {{\n"
          "\taddr := fmt.Sprintf(\":%d\", {port})\n"
          "\treturn s.listen(ctx, addr, {k} * time.Second)\n}}\n",
}


def slug(text: str) -> str:
    """A lowercase identifier from a phrase ("billing service" -> "billing_service")."""
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")


class _Slots(dict):  # type: ignore[type-arg]
    """Template values drawn lazily: only the placeholders a template names consume randomness."""

    def __init__(self, makers: dict[str, Callable[[], object]]) -> None:
        super().__init__()
        self.makers = makers

    def __missing__(self, name: str) -> object:
        value = self[name] = self.makers[name]()
        return value


class BodyWriter:
    """Builds one storage-format body about one component; `rng` drives every choice."""

    def __init__(self, rng: random.Random, component: str, tech: str, users: tuple[str, ...],
                 link_titles: tuple[str, ...] = ()) -> None:
        self.rng = rng
        self.c = component
        self.t = tech
        self.users = users
        self.link_titles = link_titles
        self.prefix = "".join(w[0] for w in component.split()).upper()[:3] or "GEN"
        self.mod = slug(component)
        self.cls = "".join(w.capitalize() for w in self.mod.split("_"))
        self.makers = self._makers()

    def _fill(self, template: str) -> str:
        return template.format_map(_Slots(self.makers))

    def _makers(self) -> dict[str, Callable[[], object]]:
        r, mod = self.rng, self.mod
        return {
            "c": lambda: self.c, "t": lambda: self.t if r.random() < 0.6 else r.choice(TECHS),
            "t2": lambda: r.choice(TECHS), "e": lambda: r.choice(ENTITIES), "team": lambda: r.choice(TEAMS),
            "m": lambda: r.choice(METRICS), "n": lambda: r.choice((50, 100, 250, 500, 2000)),
            "k": lambda: r.randint(2, 30), "k2": lambda: r.randint(2, 9),
            "port": lambda: r.randint(3000, 9999),
            "port2": lambda: r.randint(9000, 9999), "key": lambda: f"{mod}.{r.choice(SETTINGS)}",
            "keyleaf": lambda: r.choice(SETTINGS), "v": lambda: r.choice((8, 30, 64, 500, 1000)),
            "code": lambda: f"{self.prefix}-{r.randint(1000, 9999)}",
            "ver": lambda: f"{r.randint(1, 9)}.{r.randint(0, 20)}", "mod": lambda: mod,
            "ns": lambda: r.choice(("prod", "staging", "platform")), "table": lambda: f"{mod}_events",
            "cls": lambda: self.cls,
        }

    def paragraph(self, sentences: int) -> str:
        text = " ".join(self._fill(self.rng.choice(SENTENCES)) for _ in range(sentences))
        return f"<p>{self._inline(escape(text))}</p>"

    def _inline(self, text: str) -> str:
        r = self.rng
        if self.link_titles and r.random() < 0.25:
            title = escape(r.choice(self.link_titles), {'"': "&quot;"})
            text += f' See <ac:link><ri:page ri:content-title="{title}" /></ac:link>.'
        if self.users and r.random() < 0.1:
            text += f' Ask <ac:link><ri:user ri:account-id="{r.choice(self.users)}" /></ac:link>.'
        if r.random() < 0.2:
            text = text.replace(escape(self.c), f"<strong>{escape(self.c)}</strong>", 1)
        return text

    def bullets(self) -> str:
        tag = "ol" if self.rng.random() < 0.5 else "ul"
        steps = (self._fill(self.rng.choice(STEPS)) for _ in range(self.rng.randint(3, 7)))
        items = "".join(f"<li>{escape(step)}</li>" for step in steps)
        return f"<{tag}>{items}</{tag}>"

    def table(self) -> str:
        r = self.rng
        head = "<tr><th>Setting</th><th>Default</th><th>Description</th></tr>"
        rows = []
        for _ in range(r.randint(3, 8)):
            key = self._fill("{key}")
            default = r.choice((1, 8, 30, 100, 5000, "true", "false"))
            rows.append(f"<tr><td><code>{escape(key)}</code></td><td>{default}"
                        f"</td><td>{escape(self._fill(r.choice(SENTENCES)))}</td></tr>")
        return f"<table><tbody>{head}{''.join(rows)}</tbody></table>"

    def code(self) -> str:
        lang = self.rng.choice(LANGS)
        text = self._fill(CODE[lang]).replace("]]>", "]] >")
        return (f'<ac:structured-macro ac:name="code" ac:schema-version="1">'
                f'<ac:parameter ac:name="language">{lang}</ac:parameter>'
                f"<ac:plain-text-body><![CDATA[{text}]]></ac:plain-text-body></ac:structured-macro>")

    def panel(self) -> str:
        kind = self.rng.choice(PANELS)
        return (f'<ac:structured-macro ac:name="{kind}" ac:schema-version="1"><ac:rich-text-body>'
                f"{self.paragraph(self.rng.randint(1, 2))}</ac:rich-text-body></ac:structured-macro>")

    def block(self) -> str:
        roll = self.rng.random()
        if roll < 0.50:
            return self.paragraph(self.rng.randint(2, 6))
        if roll < 0.65:
            return self.bullets()
        if roll < 0.75:
            return self.table()
        if roll < 0.87:
            return self.code()
        return self.panel()

    def body(self, target_bytes: int) -> str:
        """Sections of h1/h2/h3 headings and blocks until the body reaches about `target_bytes`."""
        r = self.rng
        parts = [self.paragraph(r.randint(1, 3))]
        size = len(parts[0])
        while size < target_bytes - 150:  # a stub page is one short paragraph, as in real sites
            level = r.choice((1, 2, 2, 2, 3, 3))
            if level < 3:
                heading = f"{r.choice(TOPICS).capitalize()}: {r.choice(ENTITIES)} handling"
            else:
                metric = r.choice(METRICS)
                heading = f"{metric[0].upper()}{metric[1:]} in {r.choice(TECHS)}"
            section = [f"<h{level}>{escape(heading)}</h{level}>"]
            section.extend(self.block() for _ in range(r.randint(1, 4)))
            parts.extend(section)
            size += sum(len(p) for p in section)
        return "".join(parts)
