"""Rendering WML decks: the Jinja environments, the phone's charset, the size limit, the response.

Every ``{{ value }}`` of a template passes through :func:`_finalize` before Jinja escapes it for
XML: control characters out, transliterated to ISO-8859-1 for phones that do not accept UTF-8,
then ``$`` doubled (a single ``$`` starts a WML variable). Only the templates' own text may hold a
WML variable such as ``$(q)``, which is how WML forms post what was typed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.ext import Extension
from markupsafe import Markup
from starlette.responses import Response

from regie.frontends.wml import text
from regie.frontends.wml.wbxml import DECK_LIMIT, size_bound

logger = logging.getLogger("regie.wml")

TEMPLATES = Path(__file__).with_name("templates")
UTF8 = "utf-8"
LATIN1 = "iso-8859-1"
XML_ENCODING = {UTF8: "UTF-8", LATIN1: "ISO-8859-1"}
CONTENT_TYPE = "text/vnd.wap.wml"
NO_CACHE = {
    # Phones and gateways cache decks aggressively; a deck may show money and carries a session.
    "Cache-Control": "no-store, no-cache, max-age=0, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "Thu, 01 Jan 1970 00:00:00 GMT",
    "Vary": "Accept-Charset",
}


class CompactTemplates(Extension):
    """Drops each line break of a template and the indentation around it.

    Templates are written one element a line for people; the compiled deck counts every byte.
    A template never relies on a line break for a space between words.
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return re.sub(r"[ \t]*\n[ \t]*", "", source)


def _finalizer(latin1: bool) -> Callable[[Any], Any]:
    def _finalize(value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, Markup):  # output of the templates' own macros
            return value
        cleaned = text.clean(str(value))
        if latin1:
            cleaned = text.to_latin1(cleaned)
        return cleaned.replace("$", "$$")

    return _finalize


def _environment(latin1: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        finalize=_finalizer(latin1),
        undefined=StrictUndefined,
        extensions=[CompactTemplates],
        auto_reload=False,
    )
    environment.filters.update(
        euros=text.euros,
        months=text.months,
        short_date=text.short_date,
        short_date_time=text.short_date_time,
        office_date=text.office_date,
    )
    return environment


_ENVIRONMENTS = {UTF8: _environment(latin1=False), LATIN1: _environment(latin1=True)}


def accepted_charset(accept_charset: str | None) -> str:
    """UTF-8 when the phone's ``Accept-Charset`` allows it (``utf-8`` or ``*``), else ISO-8859-1.

    No header at all gets ISO-8859-1: the phones that send none are the oldest ones.
    """
    if not accept_charset:
        return LATIN1
    weights: dict[str, float] = {}
    for item in accept_charset.split(","):
        name, _, parameters = item.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[name.strip().lower()] = quality
    utf8 = weights.get("utf-8", weights.get("utf8", weights.get("*", 0.0)))
    return UTF8 if utf8 > 0 else LATIN1


def render(charset: str, template: str, context: Mapping[str, Any]) -> bytes:
    """The deck, encoded in ``charset`` (every value was made encodable by the finalizer)."""
    deck = (
        _ENVIRONMENTS[charset]
        .get_template(template)
        .render(encoding=XML_ENCODING[charset], **context)
    )
    return deck.encode(charset)


def render_fitting(
    charset: str, template: str, available: int, context_for: Callable[[int], Mapping[str, Any]]
) -> tuple[bytes, int]:
    """The deck showing as many of ``available`` items as fit the phone's limit (at least one).

    ``context_for(n)`` gives the template's context for the first ``n`` items; the template
    links to the rest ("suite"), so nothing is left out silently.
    """
    count = max(available, 1)
    while True:
        deck = render(charset, template, context_for(count))
        bound = size_bound(deck)
        if bound <= DECK_LIMIT:
            return deck, count
        if count <= 1:  # the database's field lengths keep this from happening (tests/…/test_sizes)
            logger.warning("WML %s may compile to %d bytes, over %d", template, bound, DECK_LIMIT)
            return deck, count
        count -= 1


def response(deck: bytes, charset: str, status_code: int = 200) -> Response:
    return Response(
        deck,
        status_code=status_code,
        headers={**NO_CACHE, "Content-Type": f"{CONTENT_TYPE}; charset={charset}"},
    )
