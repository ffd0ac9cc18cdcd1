"""A subset of Confluence Query Language (CQL), as `GET /content/search` needs it.

Fields: type, space (space.key), id (content), title, label, parent, ancestor, status,
lastmodified and created. Operators: =, !=, IN, NOT IN, and for dates >, >=, <, <=. Clauses join
with AND / OR / NOT and parentheses; `ORDER BY field [ASC|DESC], ...` over lastmodified, created,
id, title. Values may be bare words or "double" / 'single' quoted.

Dates have minute resolution, as in Cloud: "yyyy/MM/dd HH:mm", "yyyy-MM-dd HH:mm", "yyyy/MM/dd",
"yyyy-MM-dd", and (for robustness) a full ISO timestamp, truncated to its minute. Both sides are
compared as whole minutes, so `lastmodified > "2024/01/02 10:05"` means from 10:06:00 on and
`lastmodified <= "... 10:05"` includes 10:05:59.999. Dates without an offset are read in the
site's time zone (`tz`: UTC unless the emulator was started with another, as a Data Center
server reads them in its own).

Trashed content is left out unless the query names `status`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from emulator.store import Item, Store

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\')|(?P<op>!=|>=|<=|!~|[=<>~(),])'
                    r'|(?P<word>[^\s=<>!~(),"\']+))')
_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_DATE_FIELDS = {"lastmodified", "created"}
_SORT_FIELDS = {"lastmodified", "created", "id", "content", "title", "type", "space"}
_FIELD_ALIASES = {"space.key": "space", "content": "id", "lastmodified": "lastmodified",
                  "content.id": "id"}


class CQLError(ValueError):
    """The query is outside the subset (or malformed); the server answers 400."""


@dataclass(frozen=True)
class Query:
    predicate: Callable[[Item], bool]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    mentions_status: bool


def minute_of(ms: int) -> int:
    return ms // 60_000


def _match_all(item: Item) -> bool:
    """The predicate of a query without clauses (ORDER BY alone, or nothing)."""
    return True


def parse_date(text: str, zone: tzinfo = UTC) -> int:
    """A CQL date (wall-clock time in `zone`) to its minute number (minutes since the epoch)."""
    value = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            moment = datetime.strptime(value, fmt).replace(tzinfo=zone)
            return int(moment.timestamp()) // 60
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise CQLError(f"could not parse date {text!r}; use \"yyyy/MM/dd HH:mm\"") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp()) // 60


def tokenize(cql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = cql.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise CQLError(f"could not parse CQL near {text[pos:pos + 20]!r}")
        pos = match.end()
        if match.group("str") is not None:
            raw = match.group("str")[1:-1]
            tokens.append(("str", re.sub(r"\\(.)", r"\1", raw)))
        elif match.group("op") is not None:
            tokens.append(("op", match.group("op")))
        elif match.group("word") is not None:
            tokens.append(("word", match.group("word")))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], store: Store) -> None:
        self.tokens, self.pos, self.store = tokens, 0, store
        self.mentions_status = False
        self.zone: tzinfo = UTC

    def peek_word(self) -> str:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "word":
            return self.tokens[self.pos][1].upper()
        return ""

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise CQLError("CQL ended too early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect_op(self, op: str) -> None:
        kind, value = self.take()
        if kind != "op" or value != op:
            raise CQLError(f"expected {op!r} in CQL, found {value!r}")

    def parse(self) -> Query:
        predicate: Callable[[Item], bool] = _match_all
        if self.pos < len(self.tokens) and self.peek_word() != "ORDER":
            predicate = self.expr()
        order = self.order_by()
        if self.pos != len(self.tokens):
            raise CQLError(f"unexpected {self.tokens[self.pos][1]!r} in CQL")
        return Query(predicate, order, self.mentions_status)

    def expr(self) -> Callable[[Item], bool]:
        parts = [self.term()]
        while self.peek_word() == "OR":
            self.pos += 1
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    def term(self) -> Callable[[Item], bool]:
        parts = [self.factor()]
        while self.peek_word() == "AND":
            self.pos += 1
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def factor(self) -> Callable[[Item], bool]:
        if self.peek_word() == "NOT":
            self.pos += 1
            inner = self.factor()
            return lambda item: not inner(item)
        if self.pos < len(self.tokens) and self.tokens[self.pos] == ("op", "("):
            self.pos += 1
            inner = self.expr()
            self.expect_op(")")
            return inner
        return self.clause()

    def clause(self) -> Callable[[Item], bool]:
        kind, name = self.take()
        if kind != "word":
            raise CQLError(f"expected a field name in CQL, found {name!r}")
        field_name = _FIELD_ALIASES.get(name.lower(), name.lower())
        op = self.operator()
        values = self.values() if op in ("IN", "NOT IN") else [self.value()]
        if field_name == "status":
            self.mentions_status = True
        return _clause(field_name, op, values, self.store, self.zone)

    def operator(self) -> str:
        kind, value = self.take()
        if kind == "op":
            return value
        word = value.upper()
        if word == "NOT" and self.peek_word() == "IN":
            self.pos += 1
            return "NOT IN"
        if word == "IN":
            return "IN"
        raise CQLError(f"unsupported CQL operator {value!r}")

    def value(self) -> str:
        kind, value = self.take()
        if kind == "op":
            raise CQLError(f"expected a value in CQL, found {value!r}")
        return value

    def values(self) -> list[str]:
        self.expect_op("(")
        out = [self.value()]
        while self.pos < len(self.tokens) and self.tokens[self.pos] == ("op", ","):
            self.pos += 1
            out.append(self.value())
        self.expect_op(")")
        return out

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        if self.peek_word() != "ORDER":
            return ()
        self.pos += 1
        if self.peek_word() != "BY":
            raise CQLError("expected BY after ORDER in CQL")
        self.pos += 1
        order: list[tuple[str, bool]] = []
        while True:
            field_name = _FIELD_ALIASES.get(self.value().lower(), "")
            field_name = field_name or self.tokens[self.pos - 1][1].lower()
            if field_name not in _SORT_FIELDS:
                raise CQLError(f"cannot ORDER BY {field_name!r} in this CQL subset")
            desc = False
            if self.peek_word() in ("ASC", "DESC"):
                desc = self.take()[1].upper() == "DESC"
            order.append((field_name, desc))
            if not (self.pos < len(self.tokens) and self.tokens[self.pos] == ("op", ",")):
                return tuple(order)
            self.pos += 1


def _getter(field_name: str, store: Store) -> Callable[[Item], Any]:
    getters: dict[str, Callable[[Item], Any]] = {
        "type": lambda i: i.type, "space": lambda i: i.space, "id": lambda i: i.id,
        "title": lambda i: i.title, "status": lambda i: i.status,
        "parent": lambda i: i.parent_id or "",
    }
    if field_name not in getters:
        raise CQLError(f"field {field_name!r} is outside this CQL subset")
    return getters[field_name]


def _clause(field_name: str, op: str, values: Sequence[str], store: Store,
            zone: tzinfo = UTC) -> Callable[[Item], bool]:
    if field_name in _DATE_FIELDS:
        return _date_clause(field_name, op, values, zone)
    if field_name == "label":
        wanted = set(values)
        def has(i: Item) -> bool:
            return bool(wanted & set(i.labels))
        return has if op in ("=", "IN") else (lambda i: not has(i))
    if field_name == "ancestor":
        wanted = set(values)
        return lambda i: any(a.id in wanted for a in store.ancestors(i))
    get = _getter(field_name, store)
    if field_name == "title" and op == "~":
        needle = values[0].lower()
        return lambda i: needle in i.title.lower()
    if op in ("=", "IN"):
        wanted = set(values)
        return lambda i: get(i) in wanted
    if op in ("!=", "NOT IN"):
        unwanted = set(values)
        return lambda i: get(i) not in unwanted
    raise CQLError(f"operator {op!r} does not apply to {field_name!r} here")


def _date_clause(field_name: str, op: str, values: Sequence[str], zone: tzinfo = UTC
                 ) -> Callable[[Item], bool]:
    minutes = [parse_date(v, zone) for v in values]
    attr = "updated_ms" if field_name == "lastmodified" else "created_ms"
    compare: dict[str, Callable[[int, int], bool]] = {
        "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
    if op in ("IN", "NOT IN"):
        wanted = set(minutes)
        def inside(i: Item) -> bool:
            return minute_of(getattr(i, attr)) in wanted
        return inside if op == "IN" else (lambda i: not inside(i))
    if op not in compare:
        raise CQLError(f"operator {op!r} does not apply to {field_name!r}")
    fn, bound = compare[op], minutes[0]
    return lambda i: fn(minute_of(getattr(i, attr)), bound)


def sort_key(field_name: str) -> Callable[[Item], Any]:
    return {"lastmodified": lambda i: i.updated_ms, "created": lambda i: i.created_ms,
            "title": lambda i: i.title.lower(), "type": lambda i: i.type,
            "space": lambda i: i.space}.get(field_name, lambda i: i.id_key)


def parse(cql: str, store: Store, timezone: str = "UTC") -> Query:
    parser = _Parser(tokenize(cql), store)
    parser.zone = UTC if timezone == "UTC" else ZoneInfo(timezone)
    return parser.parse()


def search(cql: str, store: Store, timezone: str = "UTC") -> list[Item]:
    """Every item matching `cql`, ordered as asked (ties broken by id ascending); dates without
    an offset are read in `timezone`."""
    query = parse(cql, store, timezone)
    found = [i for i in store.snapshot()
             if (query.mentions_status or i.status == "current") and query.predicate(i)]
    found.sort(key=lambda i: i.id_key)
    for field_name, desc in reversed(query.order):
        found.sort(key=sort_key(field_name), reverse=desc)
    return found
