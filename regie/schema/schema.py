"""The assembled Strawberry schema."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache

from regie.schema.tenants import TenantQuery

logger = logging.getLogger("regie.graphql")

UNEXPECTED_ERROR = "Unexpected error. It has been logged; please try again or contact support."


@strawberry.type(description="Read the ledger: tenants and their accounts.")
class Query(TenantQuery):
    pass


def should_mask_error(error: GraphQLError) -> bool:
    """Mask our own bugs and database errors; keep validation errors and our expected errors readable."""
    if error.original_error is None:
        return False
    if isinstance(error.original_error, GraphQLError):
        return False
    logger.error("GraphQL resolver failed", exc_info=error.original_error)
    return True


schema = strawberry.Schema(
    query=Query,
    extensions=[
        lambda: MaskErrors(should_mask_error=should_mask_error, error_message=UNEXPECTED_ERROR),
        ParserCache,
        ValidationCache,
    ],
)
