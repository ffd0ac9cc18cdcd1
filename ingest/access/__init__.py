"""Who may see what: Confluence's view rule, computed at ingest and applied inside retrieval.

A person may view a page only if they may view its space, satisfy the page's own read restriction
(if any) and the read restriction of every restricted ancestor. `rules` holds the rule as pure
functions; the ledger keeps its inputs (`ingest.storage.access`).
"""

from __future__ import annotations

from ingest.access.rules import (
    ANONYMOUS,
    AccessClass,
    Explanation,
    Principal,
    Restriction,
    SpaceRule,
    acl_of,
    explain,
    visible,
)

__all__ = ["ANONYMOUS", "AccessClass", "Explanation", "Principal", "Restriction", "SpaceRule", "acl_of",
           "explain", "visible"]
