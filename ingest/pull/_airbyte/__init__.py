"""The only importer of airbyte and airbyte_cdk: PyAirbyte behind one door.

Everything else in the project reaches Confluence through these names (lazily: importing this
package does not import airbyte). By job:
- `env`: offline environment, PyAirbyte's files under the data dir, the site's CA (scoped);
- `config`: our manifest's config and the stock connector's, from Settings;
- `source`: build the source, read it into a cache, check the connection;
- `components`: the CDK components confluence.yaml names (extractors, paginator, backoff);
- `meter`: every request of a read counted;
- `hopeless`: transport errors no retry can fix (TLS, DNS, refused, silence, wrong scheme) and hints;
- `cache`: the DuckDB cache (our subclass) and its rows streamed back;
- `memory`: a quiet poll's small read held in memory instead (no DuckDB cache);
- `site_cache`: the persistent cache of the whole current site (the ledger's export, merged);
- `salvage`: the content a failed read had read, kept beside the cache;
- `records`: Confluence's JSON as `Page`, `SweepEntry`, names;
- `patches`: version-checked speed-ups of PyAirbyte/CDK internals.
"""

from __future__ import annotations

from ingest.pull._airbyte.attachments import to_attachment
from ingest.pull._airbyte.cache import (
    cached_records,
    drop_caches,
    open_cache,
    opened_cache,
    space_names,
    sweep_records,
)
from ingest.pull._airbyte.comments import to_comment
from ingest.pull._airbyte.components import (
    ClampedBackoff,
    NextLink,
    ResultsExtractor,
    SweepPageExtractor,
    response_body,
    share_json,
)
from ingest.pull._airbyte.config import cql_local_time, manifest_config, site_url, stock_config
from ingest.pull._airbyte.env import airbyte_root, prepare_environment, trusted_ca
from ingest.pull._airbyte.memory import MemoryCache, read_memory, spill_dir
from ingest.pull._airbyte.meter import RequestMeter, metering
from ingest.pull._airbyte.records import (
    CONTENT_STREAMS,
    SWEEP_STREAMS,
    SweepEntry,
    dc_space_people,
    dc_space_rules,
    person,
    restriction_people,
    space_people,
    to_page,
    to_space_rule,
    to_sweep_entry,
    user_names,
)
from ingest.pull._airbyte.salvage import Salvage
from ingest.pull._airbyte.site_cache import Refresh, open_site_cache, refresh_site_cache, site_cache_path
from ingest.pull._airbyte.source import MANIFEST_PATH, check, open_source, read

__all__ = [
    "CONTENT_STREAMS",
    "MANIFEST_PATH",
    "SWEEP_STREAMS",
    "ClampedBackoff",
    "MemoryCache",
    "NextLink",
    "Refresh",
    "RequestMeter",
    "ResultsExtractor",
    "Salvage",
    "SweepEntry",
    "SweepPageExtractor",
    "airbyte_root",
    "cached_records",
    "check",
    "cql_local_time",
    "dc_space_people",
    "dc_space_rules",
    "drop_caches",
    "manifest_config",
    "metering",
    "open_cache",
    "open_site_cache",
    "open_source",
    "opened_cache",
    "person",
    "prepare_environment",
    "read",
    "read_memory",
    "refresh_site_cache",
    "response_body",
    "restriction_people",
    "share_json",
    "site_cache_path",
    "site_url",
    "space_names",
    "space_people",
    "spill_dir",
    "stock_config",
    "sweep_records",
    "to_attachment",
    "to_comment",
    "to_page",
    "to_space_rule",
    "to_sweep_entry",
    "trusted_ca",
    "user_names",
]
