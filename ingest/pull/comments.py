"""The pull's comments: the `comments` stream's records (changed in the window) into the ledger.

A new comment bumps no version of its page, so the stream is read on every pull like the pages; the
index sees the page's comments change (its fingerprint covers them) and re-embeds only the new
comment's section (vectors are reused by text hash). The cursor may move to the newest comment: the
pages of the same window were read in the same run.
"""

from __future__ import annotations

from typing import Any

from ingest.pull import _airbyte as src
from ingest.storage.comments import LedgerComments

__all__ = ["STREAM", "apply_comments"]

STREAM = "comments"


def apply_comments(run: Any, cache: Any) -> int:
    """Write the cached comments to the ledger (not in a dry run); the number seen."""
    comments = []
    for record in src.cached_records(cache, STREAM):
        run.users.update(src.user_names(record))
        comment = src.to_comment(record)
        if comment is not None:
            comments.append(comment)
            if comment.updated_at > run.newest:
                run.newest = comment.updated_at
    if comments and not run.dry_run:
        with run.ledger.tx():
            LedgerComments(run.ledger).upsert(comments)
    run.counts["comments"] += len(comments)
    return len(comments)
