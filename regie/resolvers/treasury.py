"""Resolvers of the office's treasury work: import batches, the unmatched queue, file imports, and
the live-update subscriptions."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from regie.context import Context
from regie.db import imports, matching
from regie.resolvers.loaders import Loaders
from regie.resolvers.pagination import Edge, Page, offset_cursor, offset_from_cursor, page
from regie.services import events, records, unmatched
from regie.services import imports as import_service
from regie.services import tenants as tenant_service
from regie.services.access import require_office
from regie.services.payers import masked
from regie.services.tenants import InvalidArgument
from regie.treasury import importer

MAX_FILES = 10
MAX_GRAPHQL_FILE_BYTES = 10 * 1024 * 1024

FIRST = strawberry.argument(description="Page size, 1 to 50; default 20.")
AFTER = strawberry.argument(description="The endCursor of the previous page.")
ITEM_ID = strawberry.argument(description="The unmatched item's id.")


@dataclass(frozen=True)
class SuggestionRow:
    tenant_id: int
    score: float
    reasons: list[str]


@dataclass(frozen=True)
class ImportResultRow:
    file_name: str | None
    outcome: import_service.Outcome
    message: str
    batch_id: int | None
    rejected: list[tuple[str, str]]
    counts: import_service.Counts


@dataclass(frozen=True)
class RejectedLineRow:
    position: str
    reason: str


@dataclass(frozen=True)
class ConfirmationsAppliedRow:
    tenant_codes: list[str]
    reason: str
    channel: str
    applied: int
    applied_at: datetime
    batch_id: int | None


@strawberry.input(description="One bank or treasury file, its bytes in base64.")
class TreasuryFileInput:
    file_name: str = strawberry.field(
        description="The file's name, for display only (never used as a path); ≤ 200 characters."
    )
    content_base64: str = strawberry.field(
        description=f"The file's bytes, base64 (≤ {MAX_GRAPHQL_FILE_BYTES // (1024 * 1024)} MiB decoded)."
    )


def _item_id(value: strawberry.ID) -> int:
    text = str(value)
    if not text.isdigit():
        raise InvalidArgument(
            "itemId", f"'itemId' must be the id of an unmatched item, not {text!r}."
        )
    return int(text)


async def import_batches(
    info: Info[Context, None],
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Page[imports.ImportBatch]:
    found = await unmatched.list_batches(
        info.context.require_viewer(), first, offset_from_cursor(after)
    )
    edges = [Edge(offset_cursor(found.offset + i), row) for i, row in enumerate(found.rows)]
    return page(edges, found.has_next_page, found.offset > 0)


async def unmatched_items(
    info: Info[Context, None],
    status: Annotated[
        matching.UnmatchedStatus | None,
        strawberry.argument(description="Only items in this state; default OPEN, null for all."),
    ] = matching.UnmatchedStatus.OPEN,
    first: Annotated[int | None, FIRST] = None,
    after: Annotated[str | None, AFTER] = None,
) -> Page[matching.UnmatchedItem]:
    found = await unmatched.list_items(
        info.context.require_viewer(), status, first, offset_from_cursor(after)
    )
    edges = [Edge(offset_cursor(found.offset + i), row) for i, row in enumerate(found.rows)]
    return page(edges, found.has_next_page, found.offset > 0)


async def match_unmatched_item(
    info: Info[Context, None],
    item_id: Annotated[strawberry.ID, ITEM_ID],
    tenant_code: Annotated[str, strawberry.argument(description="The tenant it belongs to.")],
    remember_payer: Annotated[
        bool,
        strawberry.argument(
            description="Link the payer's bank account to this tenant so its next payments match by themselves."
        ),
    ] = True,
) -> matching.UnmatchedItem:
    item = await unmatched.match_item(
        info.context.require_viewer(), _item_id(item_id), tenant_code, remember_payer=remember_payer
    )
    info.context.audit.note(
        "unmatched.match", tenant_code.strip().upper(), detail=f"item {item.id}"
    )
    return item


async def dismiss_unmatched_item(
    info: Info[Context, None],
    item_id: Annotated[strawberry.ID, ITEM_ID],
    reason: Annotated[
        str, strawberry.argument(description="Why it needs no tenant, 1 to 200 characters.")
    ],
) -> matching.UnmatchedItem:
    item = await unmatched.dismiss_item(info.context.require_viewer(), _item_id(item_id), reason)
    info.context.audit.note("unmatched.dismiss", detail=f"item {item.id}")
    return item


async def import_treasury_files(
    info: Info[Context, None],
    files: Annotated[
        list[TreasuryFileInput], strawberry.argument(description=f"1 to {MAX_FILES} files.")
    ],
    format: Annotated[
        str | None,
        strawberry.argument(
            description="Force a format (camt.054, camt.053, cfonb120, csv); detected when null."
        ),
    ] = None,
) -> list[ImportResultRow]:
    viewer = info.context.require_viewer()
    require_office(viewer)
    if not 1 <= len(files) <= MAX_FILES:
        raise InvalidArgument("files", f"'files' must hold 1 to {MAX_FILES} files.")
    contents: list[bytes] = []
    for index, file in enumerate(files):
        if len(file.content_base64) > MAX_GRAPHQL_FILE_BYTES * 4 // 3 + 4:
            raise InvalidArgument(
                "files", f"files[{index}] is larger than {MAX_GRAPHQL_FILE_BYTES} bytes."
            )
        try:
            contents.append(base64.b64decode(file.content_base64, validate=True))
        except (binascii.Error, ValueError):
            raise InvalidArgument(
                "files", f"files[{index}].contentBase64 is not valid base64."
            ) from None
    results: list[ImportResultRow] = []
    for file, data in zip(files, contents, strict=True):
        report = await importer.import_file(
            data,
            source=viewer.label,
            file_name=file.file_name,
            format=format,
            user_id=viewer.user_id,
        )
        results.append(
            ImportResultRow(
                file_name=importer.display_name(file.file_name),
                outcome=report.outcome,
                message=report.message,
                batch_id=report.batch_id,
                rejected=report.rejected,
                counts=report.counts,
            )
        )
    return results


# --- fields --------------------------------------------------------------------------------------


def batch_id(root: imports.ImportBatch) -> strawberry.ID:
    return strawberry.ID(str(root.id))


def item_id(root: matching.UnmatchedItem) -> strawberry.ID:
    return strawberry.ID(str(root.id))


async def rejected_lines(
    root: imports.ImportBatch,
    first: Annotated[int, strawberry.argument(description="At most this many, 1 to 500.")] = 100,
) -> list[RejectedLineRow]:
    if not 1 <= first <= 500:
        raise InvalidArgument("first", "'first' must be between 1 and 500.")
    return [
        RejectedLineRow(position, reason)
        for position, reason in await import_service.rejected_lines(root.id, first)
    ]


def payer_account(root: matching.UnmatchedItem) -> str | None:
    return masked(root.payer_iban_last4)


def suggestions(root: matching.UnmatchedItem) -> list[SuggestionRow]:
    rows: list[dict[str, Any]] = root.suggestions or []
    return [
        SuggestionRow(int(row["tenant_id"]), float(row["score"]), list(row["reasons"]))
        for row in rows
    ]


async def suggested_tenant(
    root: SuggestionRow, info: Info[Context, None]
) -> records.TenantRecord | None:
    return await info.context.loaders.tenant.load(root.tenant_id)


async def matched_tenant(
    root: matching.UnmatchedItem, info: Info[Context, None]
) -> records.TenantRecord | None:
    if root.tenant_id is None:
        return None
    return await info.context.loaders.tenant.load(root.tenant_id)


async def item_batch(
    root: matching.UnmatchedItem, info: Info[Context, None]
) -> imports.ImportBatch | None:
    return await info.context.loaders.import_batch.load(root.batch_id)


async def result_batch(
    root: ImportResultRow, info: Info[Context, None]
) -> imports.ImportBatch | None:
    if root.batch_id is None:
        return None
    return await info.context.loaders.import_batch.load(root.batch_id)


def result_rejected(root: ImportResultRow) -> list[RejectedLineRow]:
    return [RejectedLineRow(position, reason) for position, reason in root.rejected[:100]]


# --- subscriptions -------------------------------------------------------------------------------


async def account_updated(
    info: Info[Context, None],
    tenant_code: Annotated[str, strawberry.argument(description="The tenant code to follow.")],
) -> AsyncGenerator[records.TenantRecord, None]:
    viewer = info.context.require_viewer()
    tenant = await tenant_service.tenant_by_code(viewer, tenant_code)
    if tenant is None:
        raise InvalidArgument("tenantCode", f"There is no tenant {tenant_code!r} in your sectors.")
    async for _ in events.broker().subscribe(events.account_channel(tenant.code)):
        # Each update is read afresh: the subscription's context lives as long as the socket.
        info.context.loaders = Loaders()
        yield tenant


async def confirmations_applied(
    info: Info[Context, None],
) -> AsyncGenerator[ConfirmationsAppliedRow, None]:
    viewer = info.context.require_viewer()
    async for message in events.broker().subscribe(events.CONFIRMATIONS_CHANNEL):
        codes = await unmatched.visible_tenant_codes(viewer, list(message.get("tenantCodes", [])))
        if viewer.commune_ids is not None and not codes:
            continue
        yield ConfirmationsAppliedRow(
            tenant_codes=codes,
            reason=str(message.get("reason", "")),
            channel=str(message.get("channel", "")),
            applied=int(message.get("applied", 0)),
            applied_at=datetime.fromisoformat(str(message["appliedAt"])),
            batch_id=message.get("batchId"),
        )
