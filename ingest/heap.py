"""The garbage collector's view of a long-lived heap: frozen where a full collection would only walk it.

CPython's full collection walks every tracked object; a process that has imported PyAirbyte, the CDK,
pydantic and SQLAlchemy holds ~370,000 before it reads a page, and the sync loop's holds the model and
the store too. Two uses:
- `settle()` (the sync loop's Ingester, after each full index pass): collect once, frozen objects
  included, then freeze the survivors; later full collections walk only what came since.
- `frozen()` (around each pull): freeze the heap the pull starts with, for the pull; unfrozen after it
  unless the heap was settled (then it stays frozen until the next settle collects it).
The state is this module's flag, not `gc.get_freeze_count()`: that counts the frozen objects one by
one (89 ms of a quiet poll over a settled 20,000-page heap).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_settled = False


def settle() -> None:
    """Collect every generation once (frozen objects too), then freeze the survivors."""
    global _settled
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _settled = True


@contextmanager
def frozen() -> Iterator[None]:
    """The heap as the block starts frozen out of full collections for the block."""
    gc.freeze()
    try:
        yield
    finally:
        if not _settled:
            gc.unfreeze()
