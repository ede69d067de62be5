"""The HTML pages' Jinja environments (autoescaped, one per interface language) and their responses.

Each environment has its language's gettext catalogue installed (``jinja2.ext.i18n``, new-style:
``_("…", name=value)`` is escaped and formatted) and the language's formats as filters:
``money``, ``number``, ``date``, ``moment``, ``ago``; the ``label`` filter translates an enum value
of the GraphQL schema (payment method …); ``attribute`` escapes a double-quoted attribute value.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from regie.frontends.html import i18n, static
from regie.frontends.html.i18n import N_

TEMPLATES = Path(__file__).parent / "templates"

LABELS = {
    # PaymentMethod
    "TRANSFER": N_("transfer"),
    "DIRECT_DEBIT": N_("direct debit"),
    "CHEQUE": N_("cheque"),
    "CASH": N_("cash"),
    "PAYMENT_SLIP": N_("payment slip"),
    "CAF": N_("CAF"),
    # BulkPayerKind (CAF above)
    "FSL": N_("FSL"),
    "OTHER": N_("other"),
    # ImportOutcome
    "IMPORTED": N_("imported"),
    "ALREADY_IMPORTED": N_("already imported"),
    "IN_PROGRESS": N_("being imported"),
    "CONFLICT": N_("conflict"),
    "REFUSED": N_("refused"),
    # ImportChannel
    "FILE": N_("file"),
    "PUSH": N_("treasury push"),
    # ImportStatus
    "RUNNING": N_("running"),
    "DONE": N_("done"),
    # UnmatchedKind
    "CREDIT": N_("credit"),
    "BULK": N_("bulk-payer credit"),
    "REVERSAL": N_("returned payment"),
    # PaymentStatus
    "DECLARED": N_("declared"),
    "CONFIRMED": N_("confirmed"),
    "REJECTED": N_("rejected"),
    # PaymentSource (FILE, PUSH above for ConfirmationChannel)
    "FIELD": N_("collector"),
    "OFFICE": N_("office"),
    "TREASURY_FILE": N_("treasury file"),
    "TREASURY_PUSH": N_("treasury push"),
    "DEMO": N_("demo"),
}
"""GraphQL enum values shown to people, by value."""


def attribute(value: object) -> Markup:
    """Escape for a double-quoted attribute value: ``&`` and ``"`` (and ``<``, ``>``), not ``'``.

    Autoescaping writes an apostrophe as ``&#39;``, five bytes for one; a name like N'Diaye, or a
    search text, then weighs more on the wire for nothing.
    """
    text = str(value)
    for character, entity in (("&", "&amp;"), ('"', "&quot;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(character, entity)
    return Markup(text)  # noqa: S704 - escaped above for a double-quoted attribute


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    translations = i18n.translations(language)
    # Added by the i18n extension, hence unknown to the type checker.
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    formats = i18n.Formats.of(language)
    env.filters.update(
        money=formats.money,
        number=formats.number,
        date=formats.date,
        moment=formats.moment,
        ago=formats.ago,
        label=lambda value: translations.gettext(LABELS.get(str(value), str(value))),
        attribute=attribute,
    )
    env.globals.update(language=language, stylesheet=static.STYLESHEET_URL)
    return env


def language_of(request: Request) -> str:
    return i18n.negotiate(request.headers.get("accept-language"))


def gettext_for(request: Request) -> Any:
    """The request language's ``gettext``, for messages chosen in Python (errors)."""
    return i18n.translations(language_of(request)).gettext


def render(name: str, language: str = i18n.DEFAULT_LANGUAGE, **context: Any) -> str:
    return environment(language).get_template(name).render(**context)


def page(
    request: Request,
    name: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``name`` in the request's language; the response says which language it is in."""
    language = language_of(request)
    response = HTMLResponse(
        render(name, language, **context), status_code=status_code, headers=headers
    )
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language, Cookie"
    return response
