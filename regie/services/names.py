"""How names are normalised for search: lower case, no accents, words split on anything else."""

from __future__ import annotations

import re
import unicodedata

# Letters that NFKD does not decompose but French names use.
_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss", "ø": "o", "Ø": "o"}
)
_NON_WORD = re.compile(r"[^a-z0-9]+")
# What a typed name may contain besides letters and digits: separators of compound names.
_NAME_PUNCTUATION = set(" '’‘`-.,\u00a0")


def fold(text: str) -> str:
    """``"Müller-Lefèvre"`` → ``"muller-lefevre"``: case and accents removed, punctuation kept."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words(text: str) -> list[str]:
    """The words of a name: ``"N'Diaye"`` → ``["n", "diaye"]``."""
    return [w for w in _NON_WORD.split(fold(text)) if w]


def name_words(*names: str) -> set[str]:
    """Every word a tenant can be found by: each part of each name, and each compound name joined.

    ``("Le Gall", "Anne-Marie")`` → ``{"le", "gall", "legall", "anne", "marie", "annemarie"}``, so
    that ``gall``, ``le g``, ``legall`` and ``anne-ma`` all find her.
    """
    found: set[str] = set()
    for name in names:
        parts = words(name)
        found.update(parts)
        if len(parts) > 1:
            found.add("".join(parts))
    return found


def search_key(surname: str, first_name: str) -> str:
    """The key tenants are ordered by and whose start is the 'surname prefix' rank: ``"le gall anne marie"``."""
    return " ".join(words(surname) + words(first_name))


def could_be_a_name(text: str) -> bool:
    """False when the text holds a character no name has (``%``, ``_``, ``;`` …): it then matches nothing."""
    return all(c.isalnum() or c in _NAME_PUNCTUATION for c in text)


LOWER_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
UPPER_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def prefix_upper_bound(prefix: str, alphabet: str = LOWER_ALPHABET) -> str | None:
    """The smallest string over ``alphabet`` greater than every string starting with ``prefix``.

    Lets a prefix search be an index range (``word >= prefix AND word < bound``) that behaves the
    same under any collation that orders digits before letters, unlike ``LIKE 'x%'``, which
    PostgreSQL only serves from an index under the C collation. ``None`` means no upper bound.
    """
    chars = list(prefix)
    while chars:
        position = alphabet.index(chars.pop())
        if position + 1 < len(alphabet):
            chars.append(alphabet[position + 1])
            return "".join(chars)
    return None
