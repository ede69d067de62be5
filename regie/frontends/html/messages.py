"""Keep the HTML pages' gettext catalogues in step with the code.

    .venv/bin/python -m regie.frontends.html.messages          # extract, update, compile
    .venv/bin/python -m regie.frontends.html.messages --check  # exit 1 if anything is stale

Extracts the messages of the templates (``_()``, ``ngettext()``) and of this package's Python
modules (``N_()``, ``_()``) into ``locale/messages.pot``, merges them into each language's
``messages.po`` (new French messages arrive empty, to translate by hand; the English catalogue's
translations are its msgids), and compiles each ``.po`` into the ``.mo`` the pages load. The
compiled files are committed, so a fresh clone runs without a build step.
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from regie.frontends.html.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

SOURCE_DIR = Path(__file__).parent
METHOD_MAP = [("templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS_MAP = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
FIXED_DATE = datetime(2026, 11, 26, tzinfo=UTC)
"""Headers carry this date, so that regenerating unchanged catalogues changes no byte."""


def extract() -> Catalog:
    template = Catalog(
        project="Régie", version="1", creation_date=FIXED_DATE, revision_date=FIXED_DATE,
        fuzzy=False, charset="utf-8", copyright_holder="Régie", msgid_bugs_address="",
    )  # fmt: skip
    template.header_comment = (
        "# Messages of Régie's HTML pages (python -m regie.frontends.html.messages)."
    )
    for filename, lineno, message, comments, _context in extract_from_dir(
        SOURCE_DIR, METHOD_MAP, OPTIONS_MAP, keywords=KEYWORDS, comment_tags=("Translators:",)
    ):
        template.add(
            message, None, [(f"regie/frontends/html/{filename}", lineno)],
            auto_comments=comments, flags=("python-format",),
        )  # fmt: skip
    return template


def _po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=language)


def _po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False)
    return buffer.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def updated(language: str, template: Catalog) -> Catalog:
    """The language's catalogue merged with ``template`` (English: each msgid is its translation)."""
    path = _po_path(language)
    if path.exists():
        catalog = _read(path, language)
    else:
        catalog = Catalog(locale=LANGUAGES[language].split("_")[0], domain=DOMAIN)
    catalog.update(template, no_fuzzy_matching=True)
    catalog.project, catalog.version = template.project, template.version
    catalog.copyright_holder = "Régie"
    catalog.msgid_bugs_address = ""
    catalog.last_translator = "Régie"
    catalog.language_team = f"{language} <>"
    catalog.fuzzy = False
    catalog.header_comment = (
        f"# Régie's HTML pages in {Locale.parse(language).english_name}.\n"
        "# Rebuild with: python -m regie.frontends.html.messages (then translate empty msgstr)."
    )
    catalog.revision_date = FIXED_DATE
    catalog.obsolete.clear()
    if language == "en":
        for message in catalog:
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.id and not any(strings):
                message.string = message.id
    return catalog


def _key(value: object) -> str | tuple[str, ...]:
    """A msgid or msgstr, plural forms as a tuple (``read_mo`` gives lists)."""
    if isinstance(value, list | tuple):
        return tuple(str(part) for part in value)
    return str(value)


def problems() -> list[str]:
    """What is stale or missing; empty when the catalogues match the code."""
    found: list[str] = []
    template = extract()
    pot = LOCALE_DIR / f"{DOMAIN}.pot"
    ids = {_key(m.id) for m in template if m.id}
    if not pot.exists() or ids != {_key(m.id) for m in _read(pot) if m.id}:
        found.append(f"{pot.name} is stale")
    for language in LANGUAGES:
        path = _po_path(language)
        if not path.exists():
            found.append(f"{language}: no {path.name}")
            continue
        catalog = _read(path, language)
        known = {_key(m.id) for m in catalog if m.id}
        found.extend(f"{language}: missing {mid!r}" for mid in sorted(map(str, ids - known)))
        for message in catalog:
            if not message.id:
                continue
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(strings):
                found.append(f"{language}: untranslated or fuzzy {message.id!r}")
            if _key(message.id) not in ids:
                found.append(f"{language}: obsolete {message.id!r}")
        compiled = path.with_suffix(".mo")
        if not compiled.exists():
            found.append(f"{language}: no {compiled.name}")
        else:
            with compiled.open("rb") as file:
                in_mo = {_key(m.id): _key(m.string) for m in read_mo(file) if m.id}
            in_po = {_key(m.id): _key(m.string) for m in catalog if m.id and not m.fuzzy}
            if in_mo != in_po:
                found.append(f"{language}: {compiled.name} differs from {path.name}")
    return found


def rebuild() -> None:
    template = extract()
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    (LOCALE_DIR / f"{DOMAIN}.pot").write_bytes(_po_bytes(template))
    for language in LANGUAGES:
        catalog = updated(language, template)
        path = _po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_po_bytes(catalog))
        path.with_suffix(".mo").write_bytes(_mo_bytes(catalog))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m regie.frontends.html.messages")
    parser.add_argument("--check", action="store_true", help="only report stale catalogues")
    args = parser.parse_args(argv)
    if args.check:
        found = problems()
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    rebuild()
    for line in problems():
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
