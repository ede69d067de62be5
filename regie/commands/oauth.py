"""``regie clients ...`` (OAuth2 clients) and ``regie token USER`` (an access token for scripts).

A client's secret and an access token are printed once, on standard output, and nowhere else:
not in the audit log, not in an error message.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from regie.auth import tokens
from regie.services import audit, oauth_clients
from regie.services.access import ALL_SCOPES
from regie.settings import Settings

Runner = Callable[[Callable[[], Awaitable[Any]]], Any]


def add_parsers(commands: Any) -> None:
    parser = commands.add_parser(
        "clients", help="manage OAuth2 clients (treasury, integrations, apps)"
    )
    sub = parser.add_subparsers(dest="clients_command", required=True)
    add = sub.add_parser("add", help="register a client; prints its id and secret once")
    add.add_argument("name", help="what the client is, e.g. 'Trésorerie de Montauban'")
    add.add_argument(
        "--scope",
        action="append",
        required=True,
        choices=ALL_SCOPES,
        help="an allowed scope; repeat",
    )
    add.add_argument(
        "--redirect-uri",
        action="append",
        default=[],
        help="an exact redirect URI for the authorization code flow; repeat",
    )
    add.add_argument(
        "--public", action="store_true", help="a public client (a smartphone app): no secret, PKCE"
    )
    sub.add_parser("list", help="list clients (never their secrets)")
    sub.add_parser("deactivate", help="refuse the client's tokens now").add_argument("client_id")
    sub.add_parser(
        "rotate-key",
        help="sign tokens with a new key from now on (the old one verifies until its tokens expire)",
    )
    sub.add_parser(
        "purge", help="forget expired revocations and codes, and long-retired keys (run daily)"
    )

    token = commands.add_parser("token", help="print a short-lived access token for a user")
    token.add_argument("username")
    token.add_argument(
        "--scope",
        action="append",
        choices=ALL_SCOPES,
        help="a scope within the user's role; repeat (default: all of the role's)",
    )
    token.add_argument(
        "--minutes", type=int, default=10, help="lifetime, 1 to 60 minutes (default 10)"
    )


def run_clients(args: argparse.Namespace, in_database: Runner) -> int:
    try:
        if args.clients_command == "add":
            created: oauth_clients.NewClient = in_database(lambda: _add(args))
            client = created.client
            kind = "public" if client.is_public else "confidential"
            print(f"Client registered ({kind}): {client.name}")
            print(f"  client_id:     {client.client_id}")
            print(f"  scopes:        {client.scopes}")
            print(f"  grant types:   {client.grant_types}")
            if created.secret is not None:
                print(f"  client_secret: {created.secret}")
                print("Store the secret now: it is shown once and cannot be recovered.")
        elif args.clients_command == "list":
            in_database(_list)
        elif args.clients_command == "deactivate":
            if not in_database(lambda: _deactivate(args.client_id)):
                print(f"error: no active client {args.client_id!r}", file=sys.stderr)
                return 1
            print(f"Client {args.client_id} deactivated; its tokens no longer work.")
        elif args.clients_command == "rotate-key":
            kid = in_database(_rotate_key)
            print(
                f"Tokens are now signed with key {kid}; the previous key stays published for an hour."
            )
        elif args.clients_command == "purge":
            print(f"{in_database(tokens.purge_expired)} expired OAuth2 records deleted.")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


async def _add(args: argparse.Namespace) -> oauth_clients.NewClient:
    created = await oauth_clients.create_client(
        args.name, scopes=args.scope, redirect_uris=args.redirect_uri, public=args.public
    )
    await audit.record(
        None,
        "cli",
        "admin.oauth-client-add",
        detail=f"client:{created.client.client_id} scopes: {created.client.scopes}",
    )
    return created


async def _deactivate(client_id: str) -> bool:
    done = await oauth_clients.deactivate_client(client_id)
    if done:
        await audit.record(
            None, "cli", "admin.oauth-client-deactivate", detail=f"client:{client_id}"
        )
    return done


async def _rotate_key() -> str:
    key = await tokens.rotate_signing_key()
    await audit.record(None, "cli", "admin.signing-key-rotate", detail=f"new kid {key.kid}")
    return key.kid


async def _list() -> None:
    print(f"{'client_id':<26} {'kind':<12} {'state':<8} {'scopes':<32} name")
    for client in await oauth_clients.list_clients():
        kind = "public" if client.is_public else "confidential"
        state = "active" if client.active else "inactive"
        print(f"{client.client_id:<26} {kind:<12} {state:<8} {client.scopes:<32} {client.name}")
        for uri in client.redirect_uri_list:
            print(f"{'':<26} redirect URI: {uri}")


def run_token(args: argparse.Namespace, settings: Settings, in_database: Runner) -> int:
    if not 1 <= args.minutes <= 60:
        print("error: --minutes must be between 1 and 60", file=sys.stderr)
        return 2
    scopes = frozenset(args.scope) if args.scope else None

    async def work() -> tokens.IssuedAccessToken:
        issued = await tokens.issue_operator_token(
            args.username, scopes, lifetime=timedelta(minutes=args.minutes), settings=settings
        )
        await audit.record(
            None,
            "cli",
            "admin.token-issue",
            detail=f"{args.username}: {' '.join(sorted(issued.scopes))}, jti {issued.jti}",
        )
        return issued

    try:
        issued: tokens.IssuedAccessToken = in_database(work)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(issued.token)
    print(
        f"Access token for {args.username} ({' '.join(sorted(issued.scopes))}), "
        f"valid until {issued.expires_at:%Y-%m-%d %H:%M:%S} UTC. "
        "Send it as 'Authorization: Bearer <token>'.",
        file=sys.stderr,
    )
    return 0
