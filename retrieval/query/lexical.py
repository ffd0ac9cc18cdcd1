"""Lexical query text for SQLite FTS5: free text -> a safe MATCH expression.

Every word is quoted, so FTS5 syntax in the user's text (quotes, AND/OR/NOT, NEAR(, `*`, `^`, `:`,
parentheses, unbalanced anything) is never a syntax error, only words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MAX_FTS_TERMS = 32
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that match most chunks: dropped from the lexical query (unless nothing else is left), so that
# bm25 does not score half the index for "how do I ...".
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just me more most my no nor not
now of off on once only or other our ours out over own same she should so some such than that the
their theirs them then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours
""".split())  # noqa: SIM905 - a word list reads as prose


# Code-like words: an issue or error key (CVD-4012), a dotted or snake_case name (wal.retention_hours),
# camelCase. A query with one leans lexical ([retrieval] code_dense_share): the embedder knows little of
# them, bm25 matches them exactly.
_CODE = re.compile(r"\b[A-Za-z]+-\d+\b|\b\w+[._]\w+|\b[a-z]+[A-Z]\w*")


def code_like(text: str) -> bool:
    """Whether the query holds a code-like word (a key, a dotted / snake_case / camelCase name)."""
    return bool(_CODE.search(text or ""))


def fts_terms(text: str) -> list[str]:
    """The words of free text, lower-cased, unique, stopwords dropped when other words remain."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text or "")))
    return ([w for w in words if w not in STOPWORDS] or words)[:MAX_FTS_TERMS]


def fts_query(text: str | Sequence[str], op: str = "OR") -> str:
    """A safe FTS5 MATCH expression for free text (or a list of terms): each word quoted, joined with
    OR (or AND). Quotes, operators (AND/OR/NOT/NEAR), `*`, `^`, `:` and parentheses lose their
    meaning; the result is never a syntax error. Empty when the text has no words.
    """
    terms = fts_terms(text) if isinstance(text, str) else list(text)
    return f" {op} ".join('"' + t.replace('"', '""') + '"' for t in terms)
