"""The matcher's explanations, written by the services in English, in the interface's language.

The unmatched queue's ``reason`` and each suggestion's ``reasons`` are short English sentences
built from a few patterns (see ``regie/services/matching.py``). Each known pattern has a gettext
message; an explanation that fits none is shown as the API gave it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from regie.frontends.html import i18n
from regie.frontends.html.i18n import N_

_EUROS = r"(\d+)\.(\d\d) €"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"surname (?P<name>.+) in the payer name"),
        N_("surname %(name)s in the payer name"),
    ),
    (
        re.compile(r"first name (?P<name>.+) in the payer name"),
        N_("first name %(name)s in the payer name"),
    ),
    (
        re.compile(rf"amount equals the monthly share \((?P<amount>{_EUROS})\)"),
        N_("amount equals the monthly share (%(amount)s)"),
    ),
    (
        re.compile(rf"amount is (?P<months>\d+) months of the share \((?P<amount>{_EUROS})\)"),
        N_("amount is %(months)s months of the share (%(amount)s)"),
    ),
    (
        re.compile(rf"amount within 5 % of the monthly share \((?P<amount>{_EUROS})\)"),
        N_("amount within 5 %% of the monthly share (%(amount)s)"),
    ),
    (
        re.compile(r"booked on the due date \(the (?P<day>\d+)th\)"),
        N_("booked on the due date (the %(day)s)"),
    ),
    (
        re.compile(r"booked (?P<days>\d+) days after the due date \(the (?P<day>\d+)th\)"),
        N_("booked %(days)s days after the due date (the %(day)s)"),
    ),
    (
        re.compile(r"booked (?P<days>\d+) days before the due date \(the (?P<day>\d+)th\)"),
        N_("booked %(days)s days before the due date (the %(day)s)"),
    ),
    (re.compile(r"no reference names a tenant"), N_("no reference names a tenant")),
    (
        re.compile(r"no tenant has the code '(?P<code>.+)'"),
        N_("no tenant has the code %(code)s"),
    ),
    (
        re.compile(r"a bulk payer \((?P<payer>\w+)\) pays many tenants in one credit"),
        N_("a bulk payer (%(payer)s) pays many tenants in one credit"),
    ),
    (
        re.compile(r"a returned payment whose tenant no reference names"),
        N_("a returned payment whose tenant no reference names"),
    ),
    (
        re.compile(r"tenant (?P<code>\S+) has no lease"),
        N_("tenant %(code)s has no lease"),
    ),
    (
        re.compile(r"tenant (?P<code>\S+) has no confirmed payment of this amount to reverse"),
        N_("tenant %(code)s has no confirmed payment of this amount to reverse"),
    ),
]


def translate(text: str, language: str) -> str:
    """``text`` in ``language`` when it fits a known pattern, else unchanged."""
    gettext: Callable[[str], str] = i18n.translations(language).gettext
    formats = i18n.Formats.of(language)
    for pattern, message in _PATTERNS:
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values: dict[str, Any] = found.groupdict()
        if "amount" in values:
            euros, cents = re.fullmatch(_EUROS, values["amount"]).groups()  # type: ignore[union-attr]
            values["amount"] = formats.money(int(euros) * 100 + int(cents))
        return gettext(message) % values
    return text
