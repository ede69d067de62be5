"""Turning a caller's mistake into a GraphQL error that names the argument, and nothing more."""

from __future__ import annotations

from graphql import GraphQLError

from regie.services.tenants import InvalidArgument

BAD_USER_INPUT = "BAD_USER_INPUT"


def bad_input(error: InvalidArgument) -> GraphQLError:
    return GraphQLError(str(error), extensions={"code": BAD_USER_INPUT, "argument": error.argument})
