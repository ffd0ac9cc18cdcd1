"""Search filters: `Filters` (space, kind, label, Page Properties, updated after/before, page ids),
validated where they are made; dates as epoch seconds. Re-exported by `retrieval.query.searcher`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.errors import ConfigError

__all__ = ["KINDS", "Filters", "parse_properties", "to_epoch"]

KINDS = ("page", "blogpost", "attachment")  # what the knowledge base holds (records.Page.kind)


@dataclass(frozen=True)
class Filters:
    """Restrict a search. Empty tuples / None mean "no restriction"; several values mean "any of"."""

    spaces: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    updated_after: str | None = None
    updated_before: str | None = None
    page_ids: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()  # Page Properties: every (key, value) must hold

    def __post_init__(self) -> None:
        object.__setattr__(self, "properties", parse_properties(self.properties))
        for name in ("spaces", "kinds", "labels", "page_ids"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            object.__setattr__(self, name, tuple(str(v) for v in (value or ())))
        unknown = [kind for kind in self.kinds if kind not in KINDS]
        if unknown:
            raise ConfigError(f"unknown kind {', '.join(map(repr, unknown))}", f"use {' or '.join(KINDS)}")
        for name in ("updated_after", "updated_before"):
            value = getattr(self, name)
            if value:
                to_epoch(value)  # validate early: a bad date is the caller's error, not an empty result

    @property
    def empty(self) -> bool:
        return not (self.spaces or self.kinds or self.labels or self.page_ids or self.properties
                    or self.updated_after or self.updated_before)

    @classmethod
    def of(cls, value: Filters | dict[str, Any] | None) -> Filters:
        if value is None:
            return cls()
        if isinstance(value, Filters):
            return value
        return cls(**value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_properties(value: Any) -> tuple[tuple[str, str], ...]:
    """Page Property filters from a dict, "key=value" strings or pairs; keys as the index keeps them."""
    from ingest.text.properties import property_key

    items = value.items() if isinstance(value, dict) else ([value] if isinstance(value, str) else value or ())
    out = []
    for item in items:
        if isinstance(item, str):
            if "=" not in item:
                raise ConfigError(f"a property filter is key=value, got {item!r}",
                                  "e.g. --property status=Approved")
            item = item.split("=", 1)
        key, val = item
        out.append((property_key(str(key)), str(val).strip()))
    return tuple(out)


def to_epoch(value: str) -> float:
    """ISO 8601 (date or date-time, `Z` allowed; naive = UTC) -> epoch seconds."""
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfigError(f"not an ISO 8601 date: {value!r}",
                          "use e.g. 2024-05-01 or 2024-05-01T12:00:00Z") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


