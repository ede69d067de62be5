"""The assembled Strawberry schema, and the limits every GraphQL request runs under."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from regie.context import Context
from regie.schema.auth import AuthMutation, AuthQuery
from regie.schema.errors import DomainErrors, is_expected
from regie.schema.people import PeopleMutation, PeopleQuery
from regie.schema.reports import ReportQuery
from regie.schema.tenants import TenantQuery
from regie.schema.treasury import TreasuryMutation, TreasuryQuery, TreasurySubscription

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000


@strawberry.type(description="Read the ledger: tenants and their accounts.")
class Query(TenantQuery, AuthQuery, TreasuryQuery, ReportQuery, PeopleQuery):
    pass


@strawberry.type(description="Sign in and out; change the ledger.")
class Mutation(AuthMutation, TreasuryMutation, PeopleMutation):
    pass


@strawberry.type(description="Live updates over graphql-transport-ws.")
class Subscription(TreasurySubscription):
    pass


# The limiters build a validation rule class per instance; the validation cache is keyed on the
# rule classes, so build them once here or every request would miss the cache (~15 ms each).
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class DocumentLimits(AddValidationRules):
    """Depth and alias limits, with rule classes shared by every request."""

    def __init__(self) -> None:
        super().__init__(LIMIT_RULES)


class AuditFlush(SchemaExtension):
    """Writes the audit events a request noted, once the operation has run."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            await context.audit.flush()


class RegieSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Strawberry logs every error with its traceback; expected ones (bad input, refusals,
        # sign-in failures) are answers, not incidents. DomainErrors logs the unexpected ones.
        unexpected = [error for error in errors if not is_expected(error)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(*, production: bool) -> strawberry.Schema:
    """The schema; in production without introspection and without field suggestions."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        DomainErrors,
        AuditFlush,
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        ParserCache,
        DocumentLimits,
        ValidationCache,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return RegieSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=production),
    )


schema = build_schema(production=False)
"""The development schema: what ``schema.graphql`` records and the tests run against."""
