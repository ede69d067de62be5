"""``POST /treasury/confirmations``: the treasury (or a bank connector) pushes signed confirmations.

Order of checks, each answering before anything later is done (docs/push.md):

1. :func:`authorize_push` — the caller's OAuth2 access token (the access-control issue plugs its
   check in there);
2. the body size: ``Content-Length`` above the cap → 413 without reading; a body streamed without
   it is counted while read and refused (413) as soon as it passes the cap;
3. the Standard Webhooks signature over the raw bytes: ``webhook-id``, ``webhook-timestamp``
   within ±5 minutes, ``webhook-signature`` = space-separated ``v1,<base64 HMAC-SHA256>`` of
   ``id.timestamp.body`` under any configured secret (several during a rotation), compared in
   constant time → 401 otherwise;
4. the JSON document (422 naming each field in error; nothing is applied then);
5. exactly once: a delivery is an import batch keyed by its ``webhook-id``. A replay with the same
   body answers 200 with the first result and changes nothing; the same id with another body → 409.
   Each confirmation's own ``id`` is an entry identity, so it counts once across deliveries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from regie.db.imports import ImportChannel
from regie.services import imports, references
from regie.services.access import CONFIRMATIONS_WRITE
from regie.settings import Settings
from regie.treasury.records import BankEntry

FORMAT = "push.v1"
TOLERANCE_SECONDS = 5 * 60
MAX_CONFIRMATIONS = 1000
_ID = re.compile(r"[A-Za-z0-9._:/@+=-]{1,100}")
_WEBHOOK_ID = re.compile(r"[A-Za-z0-9._:@+=-]{1,200}")
_TEXT_LIMITS = {
    "payerName": 140,
    "payerIban": 34,
    "remittance": 420,
    "endToEndId": 35,
    "mandateId": 35,
    "returnReason": 4,
    "reference": 25,
    "tenantCode": 12,
}


@dataclass(frozen=True)
class PushCaller:
    """Who posted: recorded on the import batch as its source."""

    label: str


class PushRefused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


async def authorize_push(request: Request) -> PushCaller:
    """Only a bearer access token holding ``confirmations:write`` may push (RFC 6750 answers).

    The request's principal was resolved once by :mod:`regie.auth.principal`; a session cookie
    does not count here: the treasury is a machine client.
    """
    viewer = getattr(request.state, "viewer", None)
    if viewer is None or getattr(request.state, "credential", None) != "bearer":
        raise PushRefused(
            401,
            "An OAuth2 bearer access token is required.",
            {"WWW-Authenticate": 'Bearer realm="regie", error="invalid_token"'},
        )
    if not viewer.may(CONFIRMATIONS_WRITE):
        raise PushRefused(
            403,
            "The access token lacks the scope confirmations:write.",
            {
                "WWW-Authenticate": 'Bearer realm="regie", error="insufficient_scope", scope="confirmations:write"'
            },
        )
    return PushCaller(label=viewer.label)


async def confirmations(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    try:
        caller = await authorize_push(request)
        if not settings.push_secrets:
            raise PushRefused(503, "The push channel is not configured (REGIE_PUSH_SECRETS).")
        body = await read_capped(request, settings.push_max_bytes)
        webhook_id = verify_signature(request.headers, body, settings.push_secrets)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise PushRefused(415, "The body must be application/json.")
        entries = parse_confirmations(body)
    except PushRefused as refused:
        return _error(refused)

    report = await imports.run_import(
        imports.ImportRequest(
            channel=ImportChannel.PUSH,
            format=FORMAT,
            message_id=webhook_id,
            message_key=webhook_id,
            content_sha256=hashlib.sha256(body).hexdigest(),
            source=caller.label,
        ),
        entries,
    )
    if report.outcome == imports.Outcome.CONFLICT:
        return _error(
            PushRefused(409, f"webhook-id {webhook_id!r} was already delivered with another body.")
        )
    if report.outcome == imports.Outcome.IN_PROGRESS:
        return _error(
            PushRefused(
                503, f"webhook-id {webhook_id!r} is being applied; retry.", {"Retry-After": "5"}
            )
        )
    counts = report.counts
    return JSONResponse(
        {
            "batchId": report.batch_id,
            "replay": report.outcome == imports.Outcome.ALREADY_IMPORTED,
            "received": counts.read,
            "new": counts.new,
            "duplicates": counts.duplicates,
            "matched": counts.matched,
            "unmatched": counts.unmatched,
        }
    )


def _error(refused: PushRefused) -> Response:
    return JSONResponse({"error": refused.message}, refused.status, headers=refused.headers)


async def read_capped(request: Request, limit: int) -> bytes:
    """The raw body, refused (413) once it exceeds ``limit`` bytes, before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise PushRefused(400, "Content-Length is not a number.")
        if int(declared) > limit:
            raise PushRefused(413, f"The body is larger than the {limit} bytes accepted.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PushRefused(413, f"The body is larger than the {limit} bytes accepted.")
        chunks.append(chunk)
    return b"".join(chunks)


def sign(secret: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>`` (what a sender puts in the header)."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_signature(
    headers: Any, body: bytes, secrets: Sequence[bytes], now: float | None = None
) -> str:
    """Check the Standard Webhooks headers; returns the webhook id."""
    webhook_id: str | None = headers.get("webhook-id")
    timestamp_text: str | None = headers.get("webhook-timestamp")
    signatures: str | None = headers.get("webhook-signature")
    for name, value in (
        ("webhook-id", webhook_id),
        ("webhook-timestamp", timestamp_text),
        ("webhook-signature", signatures),
    ):
        if not value:
            raise PushRefused(401, f"The {name} header is missing.")
    if webhook_id is None or timestamp_text is None or signatures is None:  # for the type checker
        raise PushRefused(401, "A webhook header is missing.")
    if _WEBHOOK_ID.fullmatch(webhook_id) is None:
        raise PushRefused(401, "The webhook-id header is not 1 to 200 letters, digits or ._:@+=-.")
    if not timestamp_text.isdigit():
        raise PushRefused(401, "The webhook-timestamp header is not Unix seconds.")
    timestamp = int(timestamp_text)
    current = time.time() if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise PushRefused(
            401, "The webhook-timestamp header is more than 5 minutes away from the server's time."
        )
    content = f"{webhook_id}.{timestamp_text}.".encode() + body
    expected = [hmac.new(secret, content, hashlib.sha256).digest() for secret in secrets]
    for signature in signatures.split():
        version, _, encoded = signature.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        # Every secret is compared, in constant time, whatever matched before.
        if any([hmac.compare_digest(given, digest) for digest in expected]):
            return webhook_id
    raise PushRefused(401, "No webhook-signature matches the body under a configured secret.")


# --- the document --------------------------------------------------------------------------------


def parse_confirmations(body: bytes) -> list[BankEntry]:
    """The confirmations of a push document, or a 422 naming every field in error."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PushRefused(400, "The body is not valid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("confirmations"), list):
        raise PushRefused(422, "The body must be an object with a 'confirmations' array.")
    items = document["confirmations"]
    if not 1 <= len(items) <= MAX_CONFIRMATIONS:
        raise PushRefused(422, f"'confirmations' must hold 1 to {MAX_CONFIRMATIONS} items.")
    errors: list[str] = []
    entries: list[BankEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        where = f"confirmations[{index}]"
        entry = _entry(item, where, errors)
        if entry is not None:
            if entry.entry_id in seen:
                errors.append(f"{where}.id: repeats an id of this delivery")
            seen.add(entry.entry_id)
            entries.append(entry)
    if errors:
        raise PushRefused(422, "; ".join(errors[:50]))
    return entries


def _entry(item: object, where: str, errors: list[str]) -> BankEntry | None:
    if not isinstance(item, dict):
        errors.append(f"{where}: must be an object")
        return None
    before = len(errors)
    identifier = item.get("id")
    if not isinstance(identifier, str) or _ID.fullmatch(identifier) is None:
        errors.append(f"{where}.id: must be 1 to 100 letters, digits or ._:/@+=-")
    kind = item.get("kind", "payment")
    if kind not in ("payment", "reversal"):
        errors.append(f"{where}.kind: must be 'payment' or 'reversal'")
    amount = item.get("amountCents")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= 10**11:
        errors.append(f"{where}.amountCents: must be a positive integer of cents")
    if item.get("currency", "EUR") != "EUR":
        errors.append(f"{where}.currency: only EUR is accepted")
    booked: date | None = None
    try:
        booked = date.fromisoformat(str(item.get("bookedOn")))
    except ValueError:
        errors.append(f"{where}.bookedOn: must be a date YYYY-MM-DD")
    texts: dict[str, str | None] = {}
    for name, limit in _TEXT_LIMITS.items():
        value = item.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= limit):
            errors.append(f"{where}.{name}: must be a string of 1 to {limit} characters")
            value = None
        texts[name] = value
    if texts["reference"] is not None and references.parse_rf(texts["reference"]) is None:
        errors.append(f"{where}.reference: is not an RF creditor reference with valid check digits")
    unknown = sorted(
        set(item) - {"id", "kind", "amountCents", "currency", "bookedOn", *_TEXT_LIMITS}
    )
    if unknown:
        errors.append(f"{where}: unknown fields {', '.join(unknown)}")
    if len(errors) > before or not isinstance(identifier, str) or not isinstance(amount, int):
        return None
    reversal = kind == "reversal"
    return BankEntry(
        position=where,
        entry_id=f"push|{identifier}",
        direction="debit" if reversal else "credit",
        amount_cents=amount,
        currency="EUR",
        booking_date=booked,
        value_date=booked,
        status="booked",
        reversal=reversal,
        payer_name=texts["payerName"],
        payer_iban=texts["payerIban"],
        remittance=(texts["remittance"],) if texts["remittance"] else (),
        structured_reference=texts["reference"],
        end_to_end_id=texts["endToEndId"],
        mandate_id=texts["mandateId"],
        return_reason=texts["returnReason"],
        tenant_code=texts["tenantCode"],
    )
