"""GraphQL types of the office's treasury work, and its Query, Mutation and Subscription mixins."""

# Resolver fields return ORM rows or resolver dataclasses that Strawberry reads the GraphQL type from.
# mypy: disable-error-code="assignment"

from __future__ import annotations

from datetime import date, datetime

import strawberry

from regie.db.imports import ImportChannel, ImportStatus
from regie.db.matching import BulkPayerKind, UnmatchedKind, UnmatchedStatus
from regie.resolvers import treasury as resolve
from regie.schema.pagination import PageInfo
from regie.schema.tenants import Tenant
from regie.services.imports import Outcome

strawberry.enum(
    ImportChannel,
    description="FILE: an imported bank or treasury file; PUSH: a signed push delivery.",
)
strawberry.enum(
    ImportStatus,
    description="RUNNING: being applied (or interrupted: re-running it resumes); DONE.",
)
strawberry.enum(
    UnmatchedKind,
    description=(
        "CREDIT: money no reference ties to a tenant; BULK: a credit from a bulk payer (CAF, FSL) "
        "for many households; REVERSAL: a returned payment whose original was not found."
    ),
)
strawberry.enum(UnmatchedStatus, description="OPEN: waits for a person; MATCHED; DISMISSED.")
strawberry.enum(BulkPayerKind, description="Which bulk payer: CAF (housing benefit), FSL, OTHER.")
strawberry.enum(
    Outcome,
    name="ImportOutcome",
    description=(
        "IMPORTED; ALREADY_IMPORTED: the same file was imported before, nothing changed; "
        "IN_PROGRESS: another process is importing it; CONFLICT: the same message id was imported "
        "with other content, nothing applied; REFUSED: the file as a whole was refused."
    ),
)


@strawberry.type(description="A line or entry of a file that could not be accepted.")
class RejectedLine:
    position: str = strawberry.field(description="Where: line, record or XML element.")
    reason: str = strawberry.field(description="Why, in one sentence.")


@strawberry.type(description="One imported file or push delivery and what became of its entries.")
class ImportBatch:
    id: strawberry.ID = strawberry.field(resolver=resolve.batch_id, description="The batch id.")
    channel: ImportChannel = strawberry.field(description="File import or signed push.")
    format: str = strawberry.field(description="camt.054, camt.053, cfonb120, csv or push.v1.")
    message_id: str = strawberry.field(
        description="The message id (camt MsgId, push webhook-id) or the file's SHA-256."
    )
    file_name: str | None = strawberry.field(description="The file's name as given, for display.")
    source: str = strawberry.field(description="Who imported it (user, CLI or push client).")
    status: ImportStatus = strawberry.field(description="Running or done.")
    started_at: datetime = strawberry.field(description="When the import started (UTC).")
    finished_at: datetime | None = strawberry.field(description="When it finished (UTC).")
    read_count: int = strawberry.field(description="Entries and lines read.")
    new_count: int = strawberry.field(description="Entries applied for the first time.")
    duplicate_count: int = strawberry.field(
        description="Entries already applied (by this or another file or delivery)."
    )
    matched_count: int = strawberry.field(
        description="New entries applied to a tenant (payment confirmed or reversed)."
    )
    unmatched_count: int = strawberry.field(description="New entries put in the unmatched queue.")
    ignored_count: int = strawberry.field(
        description="New entries that are not rent movements (bank fees …)."
    )
    pending_count: int = strawberry.field(
        description="Pending or information-only entries, not applied."
    )
    rejected_count: int = strawberry.field(description="Lines or entries rejected.")
    rejected_lines: list[RejectedLine] = strawberry.field(
        resolver=resolve.rejected_lines, description="The rejected lines, in file order."
    )


@strawberry.type(description="A tenant the unmatched entry may belong to, with why.")
class Suggestion:
    tenant: Tenant | None = strawberry.field(
        resolver=resolve.suggested_tenant, description="The suggested tenant."
    )
    score: float = strawberry.field(
        description="0 to 1: name 60 %, amount vs. the monthly share 30 %, date 10 %."
    )
    reasons: list[str] = strawberry.field(description="What points to this tenant.")


@strawberry.type(description="An entry no reference tied to a tenant: it waits for a person.")
class UnmatchedItem:
    id: strawberry.ID = strawberry.field(resolver=resolve.item_id, description="The item id.")
    kind: UnmatchedKind = strawberry.field(description="Credit, bulk-payer credit or reversal.")
    status: UnmatchedStatus = strawberry.field(description="Open, matched or dismissed.")
    amount_cents: int = strawberry.field(description="Amount, in cents (positive).")
    booked_on: date | None = strawberry.field(description="Booking date at the bank.")
    payer_name: str | None = strawberry.field(description="The payer's name as the bank gave it.")
    payer_account: str | None = strawberry.field(
        resolver=resolve.payer_account,
        description="The payer's account, masked to its last four characters ('•••• 0261').",
    )
    remittance: str | None = strawberry.field(description="The remittance text.")
    end_to_end_id: str | None = strawberry.field(description="The SEPA end-to-end id.")
    bulk_payer: BulkPayerKind | None = strawberry.field(description="The bulk payer, if one.")
    reason: str = strawberry.field(description="Why it was not matched automatically.")
    suggestions: list[Suggestion] = strawberry.field(
        resolver=resolve.suggestions,
        description="Up to 3 tenants it may belong to, best first; never applied automatically.",
    )
    created_at: datetime = strawberry.field(description="When it was queued (UTC).")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved (UTC).")
    dismiss_reason: str | None = strawberry.field(description="Why it was dismissed.")
    tenant: Tenant | None = strawberry.field(
        resolver=resolve.matched_tenant, description="The tenant it was matched to."
    )
    batch: ImportBatch | None = strawberry.field(
        resolver=resolve.item_batch, description="The import it came from."
    )


@strawberry.type(description="An edge of the import batch list.")
class ImportBatchEdge:
    cursor: str = strawberry.field(description="Opaque cursor.")
    node: ImportBatch = strawberry.field(description="The batch.")


@strawberry.type(description="Import batches, newest first.")
class ImportBatchConnection:
    edges: list[ImportBatchEdge] = strawberry.field(description="The batches of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")


@strawberry.type(description="An edge of the unmatched queue.")
class UnmatchedItemEdge:
    cursor: str = strawberry.field(description="Opaque cursor.")
    node: UnmatchedItem = strawberry.field(description="The item.")


@strawberry.type(description="The unmatched queue, oldest first.")
class UnmatchedItemConnection:
    edges: list[UnmatchedItemEdge] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page sits.")


@strawberry.type(description="What became of one imported file.")
class ImportResult:
    file_name: str | None = strawberry.field(description="The file's name as given.")
    outcome: Outcome = strawberry.field(description="Imported, already imported, conflict …")
    message: str = strawberry.field(description="One sentence for the operator.")
    batch: ImportBatch | None = strawberry.field(
        resolver=resolve.result_batch, description="The batch, with its counts."
    )
    rejected: list[RejectedLine] = strawberry.field(
        resolver=resolve.result_rejected, description="The first 100 rejected lines."
    )


@strawberry.type(description="Confirmations (or reversals, or matches) were applied.")
class ConfirmationsApplied:
    tenant_codes: list[str] = strawberry.field(
        description="The tenants whose account changed (those you may see)."
    )
    reason: str = strawberry.field(description="confirmation, reversal or match.")
    channel: str = strawberry.field(description="file, push or office.")
    applied: int = strawberry.field(description="How many were applied.")
    applied_at: datetime = strawberry.field(description="When (UTC).")
    batch_id: strawberry.ID | None = strawberry.field(description="The import batch, if any.")


@strawberry.type
class TreasuryQuery:
    import_batches: ImportBatchConnection = strawberry.field(
        resolver=resolve.import_batches,
        description="Import batches with their counts, newest first. Office staff only.",
    )
    unmatched_items: UnmatchedItemConnection = strawberry.field(
        resolver=resolve.unmatched_items,
        description="The unmatched queue with suggestions and why, oldest first. Office staff only.",
    )


@strawberry.type
class TreasuryMutation:
    import_treasury_files: list[ImportResult] = strawberry.field(
        resolver=resolve.import_treasury_files,
        description=(
            "Import camt.054/053, CFONB 120 or CSV files (base64). The same file twice changes "
            "nothing. Office staff only."
        ),
    )
    match_unmatched_item: UnmatchedItem = strawberry.field(
        resolver=resolve.match_unmatched_item,
        description="Apply an unmatched entry to a tenant. Office staff only.",
    )
    dismiss_unmatched_item: UnmatchedItem = strawberry.field(
        resolver=resolve.dismiss_unmatched_item,
        description="Close an unmatched entry that belongs to no tenant. Office staff only.",
    )


@strawberry.type
class TreasurySubscription:
    account_updated: Tenant = strawberry.subscription(
        resolver=resolve.account_updated,
        description=(
            "The tenant (read afresh), each time a confirmation, reversal or match changes their "
            "account. A tenant outside your sectors is refused (BAD_USER_INPUT)."
        ),
    )
    confirmations_applied: ConfirmationsApplied = strawberry.subscription(
        resolver=resolve.confirmations_applied,
        description="Each batch of confirmations applied (file, push or office match).",
    )
