"""The office desk (``/office/``): treasury imports and the unmatched queue, for office staff and admins.

Desktop pages, server-rendered, without JavaScript. Every page first asks GraphQL who is signed
in: anonymous visitors go to the sign-in page, signed-in people without the ``office`` scope
(collectors) get 403. All data comes from GraphQL documents run in process.

- ``GET /office/``: to the imports page.
- ``GET /office/imports[?apres=CURSOR]``: the upload form and the history of import batches (files
  and treasury pushes), newest first.
- ``POST /office/imports``: import the uploaded files (multipart form); the result table per file,
  with the rejected lines and why, then the history.
- ``GET /office/rapprochements[?apres=CURSOR]``: the open unmatched items, bulk payers apart, with
  their scored suggestions and why.
- ``POST /office/rapprochements/{id}/recherche``: the same page with a tenant search for one item
  (the text searched for, a name, travels in the body only, never in a URL).
- ``POST /office/rapprochements/{id}/rapprocher``: apply the item to a tenant.
- ``POST /office/rapprochements/{id}/ecarter``: dismiss the item with a reason.
- ``GET /office/locataires/{code}``: the tenant file: lease and dwelling, account status, the full
  ledger with its running balance, and (admins) who looked at the file.
- ``GET /office/impayes``: arrears at a glance: key figures with their formula, charts as inline
  SVG (by age bucket, by commune, confirmed vs billed per month), each with a table.
- ``GET /office/impayes.csv``: the households in arrears (semicolon-separated, UTF-8 with BOM,
  decimal commas: what French spreadsheets open directly).
"""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from regie.frontends.graphql import GraphQLFailed, run
from regie.frontends.html import csrf, reasons
from regie.frontends.html.i18n import N_
from regie.frontends.html.templates import gettext_for, language_of, page

DOCUMENTS = Path(__file__).with_name("graphql")
OFFICE_SCOPE = "office"
ADMIN_SCOPE = "admin"
BATCHES_PER_PAGE = 20
ITEMS_PER_PAGE = 20
SEARCH_RESULTS = 8
MAX_FILES = 10
"""Files in one upload: the most ``importTreasuryFiles`` accepts."""
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
"""The upload form's body cap (set in :mod:`regie.app`): as much as a GraphQL request may carry."""
MAX_FILE_BYTES = 10 * 1024 * 1024
"""The largest file ``importTreasuryFiles`` accepts."""
FORMATS = ("camt.054", "camt.053", "cfonb120", "csv")
MAX_REASON_LENGTH = 200
MAX_SEARCH_LENGTH = 100

NOT_OFFICE = N_("These pages are for office staff.")
FORM_EXPIRED = N_("The form has expired. Please try again.")
NO_FILE = N_("Choose at least one file.")
TOO_MANY_FILES = N_("At most 10 files at a time.")
FILE_TOO_LARGE = N_("%(name)s is larger than 10 MiB.")
UNKNOWN_FORMAT = N_("Unknown format.")
REASON_NEEDED = N_("Say in 1 to 200 characters why this entry needs no tenant.")
CODE_NEEDED = N_("Choose a tenant.")
SEARCH_TEXT = N_("Type 2 to 100 characters of a name, or a tenant code.")
NO_SUCH_PAGE = N_("No such page")
MATCHED = N_("The entry was applied to tenant %(code)s.")
DISMISSED = N_("The entry was dismissed.")


class _Refused(Exception):
    """The visitor may not see the office pages: ``response`` says why."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path if request.method == "GET" else "/office/imports"
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/connexion?next={quote(target, safe='')}", status_code=303)


def _forbidden(request: Request) -> Response:
    _ = gettext_for(request)
    return page(request, "message.html", 403, title=_(NOT_OFFICE), text=None)


def _check_office(request: Request, me: dict[str, Any] | None) -> str:
    """The signed-in person's name; :class:`_Refused` unless they hold the ``office`` scope."""
    if me is None:
        raise _Refused(_to_sign_in(request))
    if OFFICE_SCOPE not in (me.get("scopes") or []):
        raise _Refused(_forbidden(request))
    return str(me.get("fullName") or "")


def _is_admin(me: dict[str, Any] | None) -> bool:
    """Whether the signed-in person holds the ``admin`` scope (the desk then links the people and
    sectors pages, :mod:`regie.frontends.html.people`)."""
    return ADMIN_SCOPE in ((me or {}).get("scopes") or [])


async def _query(
    request: Request, name: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run a document; sign-in and permission failures become :class:`_Refused`."""
    if getattr(request.state, "viewer", None) is None:
        raise _Refused(_to_sign_in(request))
    try:
        return await run(request, DOCUMENTS / name, variables, surface="html")
    except GraphQLFailed as failure:
        if "UNAUTHENTICATED" in failure.codes:
            raise _Refused(_to_sign_in(request)) from failure
        if "FORBIDDEN" in failure.codes:
            raise _Refused(_forbidden(request)) from failure
        raise


async def _me(request: Request) -> str:
    data = await _query(request, "office_me.graphql")
    return _check_office(request, data.get("me"))


def _cursor(request: Request) -> str | None:
    after = request.query_params.get("apres")
    return after if after else None


def _bad_cursor(failure: GraphQLFailed) -> bool:
    return "BAD_USER_INPUT" in failure.codes


def _not_found(request: Request) -> Response:
    _ = gettext_for(request)
    return page(request, "message.html", 404, title=_(NO_SUCH_PAGE), text=None)


# Imports


async def _imports_page(
    request: Request,
    status_code: int = 200,
    *,
    results: list[dict[str, Any]] | None = None,
    error: str | None = None,
    chosen_format: str = "",
) -> Response:
    after = _cursor(request) if request.method == "GET" else None
    try:
        data = await _query(
            request, "office_batches.graphql", {"first": BATCHES_PER_PAGE, "after": after}
        )
    except GraphQLFailed as failure:
        if _bad_cursor(failure):
            return _not_found(request)
        raise
    name = _check_office(request, data.get("me"))
    batches = data["importBatches"]
    return page(
        request,
        "office/imports.html",
        status_code,
        csrf=csrf.token(request),
        signed_in_as=name,
        admin=_is_admin(data.get("me")),
        section="imports",
        batches=[edge["node"] for edge in batches["edges"]],
        more=batches["pageInfo"]["endCursor"] if batches["pageInfo"]["hasNextPage"] else None,
        first_page=after is None,
        results=results,
        error=error,
        formats=FORMATS,
        chosen_format=chosen_format,
        max_files=MAX_FILES,
    )


async def imports(request: Request) -> Response:
    try:
        return await _imports_page(request)
    except _Refused as refused:
        return refused.response


async def _files_of(form: FormData) -> list[UploadFile]:
    return [
        value
        for value in form.getlist("fichiers")
        if isinstance(value, UploadFile) and (value.filename or value.size)
    ]


async def upload(request: Request) -> Response:
    _ = gettext_for(request)
    try:
        await _me(request)
        async with request.form(max_files=MAX_FILES + 1) as form:
            chosen = str(form.get("format") or "")
            if not csrf.valid(request, form):
                return await _imports_page(request, 400, error=_(FORM_EXPIRED))
            if chosen and chosen not in FORMATS:
                return await _imports_page(request, 400, error=_(UNKNOWN_FORMAT))
            files = await _files_of(form)
            if not files:
                return await _imports_page(request, 400, error=_(NO_FILE), chosen_format=chosen)
            if len(files) > MAX_FILES:
                return await _imports_page(
                    request, 400, error=_(TOO_MANY_FILES), chosen_format=chosen
                )
            inputs = []
            for file in files:
                content = await file.read(MAX_FILE_BYTES + 1)
                name = file.filename or "?"
                if len(content) > MAX_FILE_BYTES:
                    return await _imports_page(
                        request, 400, error=_(FILE_TOO_LARGE) % {"name": name}, chosen_format=chosen
                    )
                inputs.append(
                    {"fileName": name[:200], "contentBase64": base64.b64encode(content).decode()}
                )
        data = await _query(
            request, "office_import.graphql", {"files": inputs, "format": chosen or None}
        )
        return await _imports_page(
            request, results=data["importTreasuryFiles"], chosen_format=chosen
        )
    except _Refused as refused:
        return refused.response


# The unmatched queue


def _explained(item: dict[str, Any], language: str) -> dict[str, Any]:
    """The item with its reason and its suggestions' reasons in the interface's language."""
    return {
        **item,
        "reason": reasons.translate(item["reason"], language),
        "suggestions": [
            {**s, "reasons": [reasons.translate(r, language) for r in s["reasons"]]}
            for s in item["suggestions"]
            if s.get("tenant")
        ],
    }


async def _queue_page(
    request: Request,
    status_code: int = 200,
    *,
    error: str | None = None,
    error_item: str | None = None,
    search_item: str | None = None,
    search_text: str = "",
    found: list[dict[str, Any]] | None = None,
    done: str | None = None,
) -> Response:
    after = _cursor(request) if request.method == "GET" else None
    try:
        data = await _query(
            request, "office_unmatched.graphql", {"first": ITEMS_PER_PAGE, "after": after}
        )
    except GraphQLFailed as failure:
        if _bad_cursor(failure):
            return _not_found(request)
        raise
    name = _check_office(request, data.get("me"))
    language = language_of(request)
    connection = data["unmatchedItems"]
    items = [_explained(edge["node"], language) for edge in connection["edges"]]
    return page(
        request,
        "office/unmatched.html",
        status_code,
        csrf=csrf.token(request),
        signed_in_as=name,
        admin=_is_admin(data.get("me")),
        section="unmatched",
        credits=[i for i in items if not i["bulkPayer"]],
        bulk=[i for i in items if i["bulkPayer"]],
        more=connection["pageInfo"]["endCursor"] if connection["pageInfo"]["hasNextPage"] else None,
        first_page=after is None,
        error=error,
        error_item=error_item,
        search_item=search_item,
        search_text=search_text,
        found=found,
        done=done,
    )


async def queue(request: Request) -> Response:
    _ = gettext_for(request)
    done = {
        "rapproche": _(MATCHED) % {"code": request.query_params.get("code", "")},
        "ecarte": _(DISMISSED),
    }.get(request.query_params.get("fait", ""))
    if request.query_params.get("fait") == "rapproche" and not request.query_params.get("code"):
        done = None
    try:
        return await _queue_page(request, done=done)
    except _Refused as refused:
        return refused.response


def _first_message(failure: GraphQLFailed) -> str:
    return str(failure.errors[0].get("message") or "") if failure.errors else ""


async def search(request: Request) -> Response:
    _ = gettext_for(request)
    item_id = request.path_params["item"]
    try:
        await _me(request)
        form = await request.form()
        text = str(form.get("q") or "")[: MAX_SEARCH_LENGTH * 2]
        if not csrf.valid(request, form):
            return await _queue_page(request, 400, error=_(FORM_EXPIRED))
        try:
            data = await _query(
                request, "office_search.graphql", {"text": text, "first": SEARCH_RESULTS}
            )
        except GraphQLFailed as failure:
            if "BAD_USER_INPUT" not in failure.codes:
                raise
            return await _queue_page(
                request,
                400,
                error=_(SEARCH_TEXT),
                error_item=item_id,
                search_item=item_id,
                search_text=text,
            )
        found = [edge["node"] for edge in data["searchTenants"]["edges"]]
        return await _queue_page(request, search_item=item_id, search_text=text, found=found)
    except _Refused as refused:
        return refused.response


async def match(request: Request) -> Response:
    _ = gettext_for(request)
    item_id = request.path_params["item"]
    try:
        await _me(request)
        form = await request.form()
        code = str(form.get("code") or "").strip()
        if not csrf.valid(request, form):
            return await _queue_page(request, 400, error=_(FORM_EXPIRED))
        if not code:
            return await _queue_page(request, 400, error=_(CODE_NEEDED), error_item=item_id)
        variables = {
            "itemId": item_id,
            "tenantCode": code[:50],
            "rememberPayer": form.get("memoriser") == "1",
        }
        try:
            data = await _query(request, "office_match.graphql", variables)
        except GraphQLFailed as failure:
            if "BAD_USER_INPUT" not in failure.codes:
                raise
            return await _queue_page(
                request, 400, error=_first_message(failure), error_item=item_id
            )
        tenant = data["matchUnmatchedItem"]["tenant"] or {}
        code = quote(str(tenant.get("code") or code), safe="")
        return RedirectResponse(f"/office/rapprochements?fait=rapproche&code={code}", 303)
    except _Refused as refused:
        return refused.response


async def dismiss(request: Request) -> Response:
    _ = gettext_for(request)
    item_id = request.path_params["item"]
    try:
        await _me(request)
        form = await request.form()
        reason = str(form.get("motif") or "").strip()
        if not csrf.valid(request, form):
            return await _queue_page(request, 400, error=_(FORM_EXPIRED))
        if not 1 <= len(reason) <= MAX_REASON_LENGTH:
            return await _queue_page(request, 400, error=_(REASON_NEEDED), error_item=item_id)
        try:
            await _query(request, "office_dismiss.graphql", {"itemId": item_id, "reason": reason})
        except GraphQLFailed as failure:
            if "BAD_USER_INPUT" not in failure.codes:
                raise
            return await _queue_page(
                request, 400, error=_first_message(failure), error_item=item_id
            )
        return RedirectResponse("/office/rapprochements?fait=ecarte", 303)
    except _Refused as refused:
        return refused.response


# The tenant file

AUDIT_EVENTS = 50
"""Latest audit events shown on a tenant file."""
ADMIN = "ADMIN"
UNKNOWN_TENANT = N_("No tenant with this code")


async def tenant_file(request: Request) -> Response:
    _ = gettext_for(request)
    code = request.path_params["code"]
    try:
        data = await _query(request, "office_tenant.graphql", {"code": code})
        name = _check_office(request, data.get("me"))
        tenant = data["tenant"]
        if tenant is None or data["tenantLedger"] is None:
            return page(request, "message.html", 404, title=_(UNKNOWN_TENANT), text=None)
        audit = None
        if data["me"].get("role") == ADMIN:
            trail = await _query(
                request, "office_tenant_audit.graphql", {"code": code, "first": AUDIT_EVENTS}
            )
            audit = trail["auditEvents"]
    except _Refused as refused:
        return refused.response
    ledger = data["tenantLedger"]
    return page(
        request,
        "office/tenant.html",
        csrf=csrf.token(request),
        signed_in_as=name,
        admin=_is_admin(data.get("me")),
        section="tenant",
        t=tenant,
        ledger=ledger,
        entries=ledger["entries"],
        audit=audit,
    )


# Arrears at a glance

CHART_COMMUNES = 12
"""Communes drawn on the chart (most arrears first); the table lists them all."""
BUCKET_LABELS = {
    "DAYS_0_30": N_("0–30 days"),
    "DAYS_31_60": N_("31–60 days"),
    "DAYS_61_90": N_("61–90 days"),
    "DAYS_OVER_90": N_("over 90 days"),
}
CSV_COLUMNS = (
    N_("tenant code"),
    N_("title"),
    N_("surname"),
    N_("first name"),
    N_("commune"),
    N_("arrears (€)"),
    N_("arrears (months)"),
    N_("overdue (days)"),
    N_("age bucket"),
    N_("to report to the CAF"),
)


async def arrears(request: Request) -> Response:
    _ = gettext_for(request)
    try:
        data = await _query(request, "office_arrears.graphql")
        name = _check_office(request, data.get("me"))
    except _Refused as refused:
        return refused.response
    report = data["arrearsReport"]
    buckets = [{**b, "label": _(BUCKET_LABELS[b["bucket"]])} for b in report["buckets"]]
    in_arrears = [c for c in report["communes"] if c["arrearsCents"] > 0]
    return page(
        request,
        "office/arrears.html",
        csrf=csrf.token(request),
        signed_in_as=name,
        admin=_is_admin(data.get("me")),
        section="arrears",
        r=report,
        buckets=buckets,
        bucket_max=max((b["arrearsCents"] for b in buckets), default=0),
        communes=in_arrears,
        chart_communes=in_arrears[:CHART_COMMUNES],
        commune_max=max((c["arrearsCents"] for c in in_arrears), default=0),
        months=report["months"],
        month_max=max(
            (max(m["billedCents"], m["confirmedCents"]) for m in report["months"]), default=0
        ),
    )


def _cell(value: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


async def arrears_csv(request: Request) -> Response:
    _ = gettext_for(request)
    try:
        data = await _query(request, "office_arrears_list.graphql")
        _check_office(request, data.get("me"))
    except _Refused as refused:
        return refused.response
    report = data["arrearsReport"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([_(column) for column in CSV_COLUMNS])
    for line in report["lines"]:
        cents = int(line["arrearsCents"])
        writer.writerow(
            [
                _cell(str(line["tenantCode"])),
                _cell(str(line["title"])),
                _cell(str(line["surname"])),
                _cell(str(line["firstName"])),
                _cell(str(line["commune"])),
                f"{cents // 100},{cents % 100:02d}",
                str(line["arrearsMonths"]).replace(".", ","),
                str(line["arrearsDays"]),
                _(BUCKET_LABELS[line["bucket"]]),
                _("yes") if line["reportableToCaf"] else _("no"),
            ]
        )
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="impayes-{report["day"]}.csv"',
            "Cache-Control": "no-store",
        },
    )


async def desk(request: Request) -> Response:
    return RedirectResponse("/office/imports", status_code=303)


routes = [
    Route("/office", desk, methods=["GET"]),
    Route("/office/", desk, methods=["GET"]),
    Route("/office/imports", imports, methods=["GET"]),
    Route("/office/imports", upload, methods=["POST"]),
    Route("/office/rapprochements", queue, methods=["GET"]),
    Route("/office/rapprochements/{item}/recherche", search, methods=["POST"]),
    Route("/office/rapprochements/{item}/rapprocher", match, methods=["POST"]),
    Route("/office/rapprochements/{item}/ecarter", dismiss, methods=["POST"]),
    Route("/office/locataires/{code}", tenant_file, methods=["GET"]),
    Route("/office/impayes", arrears, methods=["GET"]),
    Route("/office/impayes.csv", arrears_csv, methods=["GET"]),
]
