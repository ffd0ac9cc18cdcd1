"""Follow-up questions: `standalone_query` makes a follow-up searchable on its own, through an LLM
rewrite when one is given (`llm_rewrite`, which the server's engine wires to the configured chat
model), else by the documented rule (`needs_context`, `rule_query`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

# A follow-up "needs its history" when it is short or leans on something said before.
FOLLOWUP_MAX_WORDS = 4
FOLLOWUP_WORDS = frozenset(
    "it its it's itself this that these those they them "  # noqa: SIM905 - a word list reads as prose
    "their theirs there he she him her his hers "
    "one ones same such former latter above previous else then".split())
FOLLOWUP_LEADS = ("and ", "also ", "what about", "how about", "and what", "then ", "so ", "but ",
                  "what else", "why not", "more on", "tell me more")
CONTEXT_MAX_WORDS = 60
REWRITE_TURNS = 6  # the last turns of the conversation the LLM sees
REWRITE_PROMPT = (
    "Rewrite the user's last question as one standalone question that can be understood without the "
    "conversation, for searching a wiki. Keep names, codes and terms exactly. Reply with the question only."
)


# -- follow-ups --------------------------------------------------------------------------------------
def needs_context(question: str) -> bool:
    """The rule: a follow-up is short (≤ 4 words), uses a pronoun-like word, or opens like "and …"."""
    text = question.strip().lower()
    words = re.findall(r"[a-z0-9']+", text)
    return (len(words) <= FOLLOWUP_MAX_WORDS or any(w in FOLLOWUP_WORDS for w in words)
            or text.startswith(FOLLOWUP_LEADS))


def _tail_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[-n:])


def rule_query(question: str, history: Sequence[dict[str, str]]) -> str:
    """The documented rule, applied turn by turn through the user messages of `history`:
    each user turn that `needs_context` is joined to the previous turn's standalone query
    (its last 60 words); any other turn stands alone. The result for `question` is returned."""
    context = ""
    for turn in [m.get("content", "") for m in history if m.get("role") == "user"] + [question]:
        turn = turn.strip()
        if not turn:
            continue
        context = f"{context} {turn}" if context and needs_context(turn) else turn
        context = _tail_words(context, CONTEXT_MAX_WORDS)
    return context or question


def standalone_query(question: str, history: Sequence[dict[str, str]] | None,
                     rewrite: Callable[[str, Sequence[dict[str, str]]], str] | None = None,
                     ) -> tuple[str, list[str]]:
    """The query to retrieve with for `question` after `history`, and any warnings.

    With no earlier user turn, the question itself. With an LLM (`rewrite`), its rewrite when it
    returns a non-empty line; on failure, the rule, with a warning."""
    history = list(history or [])
    if not any(m.get("role") == "user" and m.get("content", "").strip() for m in history):
        return question, []
    if rewrite is not None:
        try:
            text = " ".join(rewrite(question, history).split())
        except Exception as exc:  # any LLM failure falls back to the rule
            return rule_query(question, history), [f"follow-up rewrite failed ({type(exc).__name__}); "
                                                   "used the rule instead"]
        if text and len(text) <= 4 * max(len(question), 200):
            return text, []
        return rule_query(question, history), ["follow-up rewrite was empty or too long; used the rule"]
    return rule_query(question, history), []


def llm_rewrite(llm: Any, question: str, history: Sequence[dict[str, str]]) -> str:
    """A LangChain chat model's standalone form of `question` after `history` (its last turns)."""
    from langchain_core.messages import HumanMessage, SystemMessage

    from retrieval.query.answer import message_text

    turns = "\n".join(f"{m.get('role')}: {m.get('content', '')}" for m in list(history)[-REWRITE_TURNS:])
    reply = llm.invoke([SystemMessage(REWRITE_PROMPT),
                        HumanMessage(f"Conversation:\n{turns}\n\nLast question: {question}")])
    return message_text(reply).strip()
