"""Token counters for the chunker: tiktoken (the LLM budget) and the embedder's window.

`window_counter()` counts what the bundled all-MiniLM-L6-v2 sees: BERT word pieces plus [CLS] and
[SEP]. The `tokenizers` library does that exactly but costs ~20x a tiktoken count per call (it builds
offsets, alignments and an Encoding), and the chunker counts every chunk. So the default counter is
a re-implementation of the same steps — BertNormalizer (clean text, CJK spacing, strip accents,
lowercase), BertPreTokenizer (whitespace, punctuation), greedy WordPiece over the model's vocab —
with a cache per whitespace-separated word. tests/test_chunk_tokens.py checks it against
`tokenizers` on every fixture and shared sample; `window_counter(exact=True)` gives the library's.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

Counter = Callable[[str], int]


def tiktoken_counter(name: str = "cl100k_base") -> Counter:
    """Count tokens with the offline tiktoken encoding (special-token text counted as plain text)."""
    from ingest.assets import encoding

    enc = encoding(name)

    def count_tiktoken(text: str) -> int:
        return len(enc.encode_ordinary(text))

    return count_tiktoken


def window_counter(tokenizer_json: Path | str | None = None, *, exact: bool = False) -> Counter:
    """Count the bundled model's word pieces, [CLS] and [SEP] included, without loading torch."""
    from ingest.assets import model_path

    path = Path(tokenizer_json or model_path() / "tokenizer.json")
    if exact:
        return _library_counter(path)
    spec = json.loads(path.read_text(encoding="utf-8"))
    if (spec.get("model", {}).get("type") != "WordPiece"
            or (spec.get("normalizer") or {}).get("type") != "BertNormalizer"
            or (spec.get("pre_tokenizer") or {}).get("type") != "BertPreTokenizer"):
        return _library_counter(path)  # another tokenizer family: count with the library
    return WordPieceCounter(spec)


def window_size(default: int = 256) -> int:
    """The bundled model's window (sentence-transformers `max_seq_length`)."""
    from ingest.assets import model_path

    try:
        config = json.loads((model_path() / "sentence_bert_config.json").read_text())
        return int(config.get("max_seq_length") or default)
    except (OSError, ValueError):
        return default


def _library_counter(path: Path) -> Counter:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()  # tokenizer.json ships truncation and padding at 128: counts would be capped
    tok.no_padding()

    def count_wordpieces_exact(text: str) -> int:
        return len(tok.encode(text).ids)

    return count_wordpieces_exact


class WordPieceCounter:
    """BERT word pieces + 2 specials, as `tokenizers` counts them for a BertNormalizer/WordPiece model."""

    def __init__(self, spec: dict) -> None:  # type: ignore[type-arg]
        model, norm = spec["model"], spec.get("normalizer") or {}
        self.vocab = frozenset(model["vocab"])
        self.prefix = model.get("continuing_subword_prefix", "##")
        self.max_chars = int(model.get("max_input_chars_per_word", 100))
        self.lowercase = bool(norm.get("lowercase", True))
        strip = norm.get("strip_accents")
        self.strip_accents = self.lowercase if strip is None else bool(strip)
        self.cjk = bool(norm.get("handle_chinese_chars", True))
        self.specials = 2 if spec.get("post_processor") else 0
        self.cache: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        cache = self.cache
        if len(cache) > 500_000:
            cache.clear()
        total = self.specials
        if _PY_SPACE_CONTROLS.search(text):
            text = _PY_SPACE_CONTROLS.sub("", text)
        for word in text.split():
            n = cache.get(word)
            if n is None:
                n = cache[word] = self._count_word(word)
            total += n
        return total

    def _count_word(self, word: str) -> int:
        text = self._normalize(word)
        # Python's Unicode tables and the library's differ in age: a code point unassigned in one,
        # or a combining mark outside the BMP (mostly recent additions the library may keep as
        # [UNK] where we strip it), counts one token so that the count never falls short
        unassigned = sum(1 for c in word if _maybe_unknown(c))
        return sum(self._pieces(w) for w in _pre_tokenize(text)) + unassigned

    def _normalize(self, text: str) -> str:
        chars = []
        for c in text:
            cp = ord(c)
            if _maybe_unknown(c):  # counted apart in _count_word; a separator here, never a join
                chars.append(" ")
                continue
            if cp == 0 or cp == 0xFFFD or _is_control(c):
                continue
            if self.cjk and _is_cjk(cp):
                chars.append(f" {c} ")
            else:
                chars.append(" " if _is_whitespace(c) else c)
        out = "".join(chars)
        if self.strip_accents:
            out = "".join(c for c in unicodedata.normalize("NFD", out) if unicodedata.category(c) != "Mn")
        return out.lower() if self.lowercase else out

    def _pieces(self, word: str) -> int:
        if len(word) > self.max_chars:
            return 1
        start, count, n = 0, 0, len(word)
        while start < n:
            end = n
            while end > start:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            if end == start:
                return 1  # no piece matches: the whole word is [UNK]
            count += 1
            start = end
        return count


# Control characters that Python's str.split() takes for whitespace; BertNormalizer removes them.
_PY_SPACE_CONTROLS = re.compile("[\x0b\x0c\x1c-\x1f\x85]")


def _pre_tokenize(text: str) -> list[str]:
    """Split on whitespace; every punctuation character is a word of its own."""
    words: list[str] = []
    for chunk in text.split():
        current: list[str] = []
        for c in chunk:
            if _is_punctuation(c):
                if current:
                    words.append("".join(current))
                    current = []
                words.append(c)
            else:
                current.append(c)
        if current:
            words.append("".join(current))
    return words


def _is_whitespace(c: str) -> bool:
    return c in " \t\n\r" or unicodedata.category(c) in ("Zs", "Zl", "Zp")


# Code points that Python 3.11's Unicode tables and tokenizers 0.23's treat differently (newer
# assignments: Python strips or drops them, the library keeps them as [UNK]). Found by comparing the
# two counters on every code point (`a{c}b {c}`); each counts one token here, so we never fall short.
_NEWER_RANGES = (
    (0x7FD, 0x7FD), (0x890, 0x891), (0x898, 0x89F), (0x8CA, 0x8E2), (0x9FE, 0x9FE), (0xAFA, 0xAFF),
    (0xB55, 0xB55), (0xC04, 0xC04), (0xC3C, 0xC3C), (0xD00, 0xD00), (0xD3B, 0xD3C), (0xD81, 0xD81),
    (0xEBA, 0xEBA), (0x166D, 0x166D), (0x180F, 0x180F), (0x1885, 0x1886), (0x1ABF, 0x1ACE),
    (0x1DF6, 0x1DFB), (0xA82C, 0xA82C), (0xA8C5, 0xA8C5), (0xA8FF, 0xA8FF), (0xA9BD, 0xA9BD),
    (0xFA6E, 0xFA6F), (0xFADA, 0xFAFF), (0x110CD, 0x110CD), (0x111C9, 0x111C9), (0x13430, 0x13438),
    (0x2B739, 0x2B73F), (0x2B81E, 0x2B81F), (0x2CEA2, 0x2CEAF), (0x2FA1E, 0x2FA1F),
)
_NEWER = frozenset(cp for lo, hi in _NEWER_RANGES for cp in range(lo, hi + 1))


def _maybe_unknown(c: str) -> bool:
    category = unicodedata.category(c)
    return category == "Cn" or (category == "Mn" and ord(c) > 0xFFFF) or ord(c) in _NEWER


def _is_control(c: str) -> bool:
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf", "Cn", "Co", "Cs")


def _is_punctuation(c: str) -> bool:
    cp = ord(c)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(c).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)
