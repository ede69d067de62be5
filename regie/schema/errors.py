"""How errors reach GraphQL clients: expected ones readable with a code, everything else masked."""

from __future__ import annotations

import logging

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from regie.context import NotSignedIn
from regie.services.access import AccessDenied
from regie.services.credentials import WeakSecret
from regie.services.tenants import InvalidArgument
from regie.services.throttle import TooManyRequests
from regie.services.users import UserError

logger = logging.getLogger("regie.graphql")

UNEXPECTED_ERROR = "Unexpected error. It has been logged; please try again or contact support."
BAD_USER_INPUT = "BAD_USER_INPUT"
FORBIDDEN = "FORBIDDEN"
UNAUTHENTICATED = "UNAUTHENTICATED"
RATE_LIMITED = "RATE_LIMITED"


def _with(error: GraphQLError, message: str, extensions: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        message, nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
        extensions=extensions,
    )  # fmt: skip


EXPECTED = (InvalidArgument, UserError, WeakSecret, NotSignedIn, AccessDenied, TooManyRequests)


def is_expected(error: GraphQLError) -> bool:
    """A caller's mistake or a refusal, answered with a code: nothing for the server log."""
    original = error.original_error
    # Parse and validation errors have no original; resolvers raise GraphQLErrors with a code.
    return original is None or isinstance(original, (GraphQLError, *EXPECTED))


class DomainErrors(MaskErrors):
    """Translates the services' expected exceptions; masks (and logs) anything else."""

    def __init__(self) -> None:
        super().__init__(error_message=UNEXPECTED_ERROR)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [self._translate(error) for error in errors]

    def _translate(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return error  # parse and validation errors, and errors we built ourselves
        if isinstance(original, InvalidArgument):
            return _with(
                error, str(original), {"code": BAD_USER_INPUT, "argument": original.argument}
            )
        if isinstance(original, UserError | WeakSecret):
            # An admin request the services cannot carry out: the message says why, and names
            # the argument when one is to blame. (Never a secret: the rules, not the values.)
            argument = getattr(original, "argument", None)
            if argument:
                message = f"'{argument}': {original}."
                extensions: dict[str, object] = {"code": BAD_USER_INPUT, "argument": argument}
            else:
                message = f"{str(original)[:1].upper()}{str(original)[1:]}."
                extensions = {"code": BAD_USER_INPUT}
            return _with(error, message, extensions)
        if isinstance(original, NotSignedIn):
            return _with(error, "Sign in first.", {"code": UNAUTHENTICATED})
        if isinstance(original, AccessDenied):
            return _with(error, "Not allowed.", {"code": FORBIDDEN})
        if isinstance(original, TooManyRequests):
            return _with(
                error,
                "Too many requests; try again later.",
                {"code": RATE_LIMITED, "retryAfterSeconds": original.retry_after_seconds},
            )
        logger.error("GraphQL resolver failed at %s", error.path, exc_info=original)
        return self.anonymise_error(error)
