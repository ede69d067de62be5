"""The ``regie`` command: migrate, demo, serve, users, audit, check-accounts …"""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from tortoise.context import TortoiseContext

from regie.commands import audit as audit_commands
from regie.commands import imports as import_commands
from regie.commands import oauth as oauth_commands
from regie.commands import users as users_commands
from regie.db.config import tortoise_config
from regie.settings import Settings, ensure_sqlite_directory, load_settings

T = TypeVar("T")


async def _with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with the ORM initialised; a CLI command does all its DB work in here."""
    ensure_sqlite_directory(settings.database_url)
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(settings.database_url))
        return await work()


def _runner(settings: Settings) -> Callable[[Callable[[], Awaitable[T]]], T]:
    """Runs one piece of async DB work to completion, for command modules."""

    def run(work: Callable[[], Awaitable[T]]) -> T:
        return asyncio.run(_with_database(settings, work))

    return run


def _progress_bar(label: str) -> Callable[[int, int], None]:
    started = time.monotonic()
    first: list[tuple[float, int]] = []  # (when, done) at the first update

    def show(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        now = time.monotonic()
        elapsed = now - started
        # The time left at the pace since the first update, once there is half a second of it:
        # what comes before (reading and checking a file, starting a child) says nothing of
        # the pace, and made the first estimates of a large import hundreds of seconds.
        if not first:
            first.append((now, done))
        since, done_then = first[0]
        if now - since >= 0.5 and done > done_then:
            left = f"~{(total - done) * (now - since) / (done - done_then):4.0f} s left"
        else:
            left = "   … s left"
        sys.stderr.write(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}"
            f"  {elapsed:5.1f} s, {left} "
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def migrate(settings: Settings) -> int:
    from regie.services import database

    async def work() -> None:
        await database.migrate(tortoise_config(settings.database_url))

    asyncio.run(_with_database(settings, work))
    print("Database is up to date.")
    return 0


def demo(settings: Settings, args: argparse.Namespace) -> int:
    from regie.demo import office

    options = office.DemoOptions(
        dwellings=args.dwellings,
        seed=args.seed,
        now=datetime.fromisoformat(args.now) if args.now else None,
    )

    async def work() -> office.DemoReport | None:
        if args.reset:
            await office.delete_everything()
        elif not await office.database_is_empty():
            return None
        return await office.load_demo_office(options, _progress_bar("Demo office"))

    started = time.monotonic()
    report = asyncio.run(_with_database(settings, work))
    if report is None:
        if args.if_empty:
            print("The database already holds an office; demo not loaded.")
            return 0
        print(
            "error: the database already holds an office; add --reset to replace it.",
            file=sys.stderr,
        )
        return 1
    print(f"Demo office loaded in {time.monotonic() - started:.1f} s:")
    for name, value in office.as_dict(report).items():
        print(f"  {name.replace('_', ' '):<20} {value:>10,}")
    return 0


def check_accounts(settings: Settings) -> int:
    from regie.services import accounts

    stale = asyncio.run(_with_database(settings, accounts.stale_snapshots))
    if stale:
        print(f"{len(stale)} account snapshots differ from their ledger, leases: {stale[:20]}")
        return 1
    print("Every account snapshot matches its ledger.")
    return 0


def _log_config() -> dict[str, Any]:
    """uvicorn's logging, plus Régie's loggers (the access log without query strings)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["regie"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from regie.app import create_app

    host, port = args.host or settings.host, args.port or settings.port
    base = f"http://{host}:{port}"
    print(f"Régie ({settings.environment}) on {base}/")
    print(
        f"  GraphQL: {base}/graphql"
        + (" (GraphiQL in a browser)" if settings.is_development else "")
    )
    # uvicorn's own access log prints query strings, where WML session tokens ride: ours does not.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        proxy_headers=False,
        log_config=_log_config(),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regie", description="Régie: tenant accounts for rent collectors."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply pending database migrations")

    demo_parser = commands.add_parser("demo", help="load the deterministic demo office")
    demo_parser.add_argument(
        "--dwellings", type=int, default=3500, help="number of dwellings (default 3500)"
    )
    demo_parser.add_argument(
        "--seed", type=int, default=20261126, help="random seed (default 20261126)"
    )
    demo_parser.add_argument("--reset", action="store_true", help="delete everything first")
    demo_parser.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing (and succeed) when the database holds data",
    )
    demo_parser.add_argument(
        "--now", help="generate as of this UTC time (ISO 8601), for reproducible data"
    )

    serve_parser = commands.add_parser("serve", help="serve the web application")
    serve_parser.add_argument("--host", help="address to listen on (default: $HOST or 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port to listen on (default: $PORT or 8000)")

    commands.add_parser("check-accounts", help="verify every account snapshot against its ledger")
    users_commands.add_parser(commands)
    audit_commands.add_parser(commands)
    oauth_commands.add_parsers(commands)
    import_commands.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        return migrate(settings)
    if args.command == "demo":
        if args.dwellings < 1:
            print("error: --dwellings must be at least 1", file=sys.stderr)
            return 2
        return demo(settings, args)
    if args.command == "users":
        return users_commands.run(args, _runner(settings))
    if args.command == "audit":
        return audit_commands.run(args, settings, _runner(settings))
    if args.command == "clients":
        return oauth_commands.run_clients(args, _runner(settings))
    if args.command == "token":
        return oauth_commands.run_token(args, settings, _runner(settings))
    if args.command == "check-accounts":
        return check_accounts(settings)
    if args.command == "import":
        return import_commands.run(args, settings, _runner(settings), _progress_bar)
    return serve(settings, args)


if __name__ == "__main__":
    sys.exit(main())
