"""The payment reference printed on rent demands, and finding tenant codes in what payers write.

The reference is an ISO 11649 structured creditor reference ("RF reference") built from the tenant
code: ``RF`` + two check digits (ISO 7064 MOD 97-10) + the code. A bank passes it through
untouched in ``RmtInf/Strd/CdtrRefInf/Ref``; a payer who copies it into free text is still found,
and a mistyped one fails its check digits instead of paying the wrong tenant. Printed in groups of
four: ``RF70 1004 217``.
"""

from __future__ import annotations

import re
import string

RF_PREFIX = "RF"
MAX_REFERENCE_LENGTH = 21  # ISO 11649: up to 25 characters including "RF" and the check digits
_REFERENCE_CHARS = re.compile(r"[A-Z0-9]{1,21}")
# An RF reference in free text: "RF" and its two digits, then the reference, possibly in groups
# of four separated by single spaces (as printed).
_RF_IN_TEXT = re.compile(r"(?<![A-Z0-9])RF(\d{2})((?:\s?[A-Z0-9]){1,21})(?![A-Z0-9])")
_TOKEN = re.compile(r"[A-Z0-9]+")


class InvalidReference(ValueError):
    """Not a valid RF creditor reference, or a code that cannot make one."""


def _numeric(text: str) -> int:
    """Letters become two digits (A = 10 … Z = 35), as ISO 7064 MOD 97-10 wants."""
    return int(
        "".join(str(string.ascii_uppercase.index(c) + 10) if c.isalpha() else c for c in text)
    )


def rf_reference(code: str) -> str:
    """The RF reference of a tenant code, without spaces: ``rf_reference("1004217")`` → ``"RF…1004217"``."""
    reference = code.strip().upper()
    if _REFERENCE_CHARS.fullmatch(reference) is None:
        raise InvalidReference(
            f"a tenant code must be 1 to {MAX_REFERENCE_LENGTH} letters or digits to make an RF "
            f"reference, not {code!r}"
        )
    check = 98 - _numeric(reference + RF_PREFIX + "00") % 97
    return f"{RF_PREFIX}{check:02d}{reference}"


def printed(reference: str) -> str:
    """How a rent demand prints it: groups of four characters."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))


def parse_rf(text: str) -> str | None:
    """The reference inside a valid RF reference (``"RF18 5390 0754 7034"`` → ``"539007547034"``).

    Spaces are ignored and case too; ``None`` when ``text`` is not an RF reference whose check
    digits are right.
    """
    compact = "".join(text.split()).upper()
    if len(compact) < 5 or not compact.startswith(RF_PREFIX) or not compact[2:4].isdigit():
        return None
    reference = compact[4:]
    if _REFERENCE_CHARS.fullmatch(reference) is None:
        return None
    if _numeric(reference + compact[:4]) % 97 != 1:
        return None
    return reference


def find_rf(text: str) -> list[str]:
    """Every valid RF reference written anywhere in ``text``, as the references they carry."""
    found: list[str] = []
    upper = text.upper()
    if RF_PREFIX not in upper:
        return found  # most texts hold none: spare them the regular expression
    for match in _RF_IN_TEXT.finditer(upper):
        candidate = f"RF{match[1]}{''.join(match[2].split())}"
        # Greedy grouping may swallow a following word: try shorter tails too.
        for end in range(len(candidate), 4, -1):
            reference = parse_rf(candidate[:end])
            if reference is not None:
                found.append(reference)
                break
    return found


def code_tokens(text: str, min_length: int = 4, max_length: int = 12) -> set[str]:
    """The words of ``text`` that could be a tenant code (letters or digits, of a code's length)."""
    return {t for t in _TOKEN.findall(text.upper()) if min_length <= len(t) <= max_length}
