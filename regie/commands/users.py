"""``regie users ...``: people, their secrets, devices and sectors (admin work from a terminal).

PINs and passwords are never taken as arguments (they would stay in the shell history and be
visible to ``ps``): they are typed at a hidden prompt, or read from standard input with ``--stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from regie.db import auth, people
from regie.services import audit, credentials, sessions, users

Runner = Callable[[Callable[[], Awaitable[Any]]], Any]


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("users", help="manage users, secrets, devices and sectors")
    sub = parser.add_subparsers(dest="users_command", required=True)
    sub.add_parser("list", help="list users with their role, state and devices")

    add = sub.add_parser("add", help="create a user (asks for the PIN or password)")
    add.add_argument("username")
    add.add_argument("--name", required=True, help="full name")
    add.add_argument("--role", required=True, choices=[r.value for r in people.Role])
    add.add_argument(
        "--stdin", action="store_true", help="read the PIN or password from standard input"
    )

    for name, what in (
        ("set-pin", "a collector's PIN"),
        ("set-password", "an office user's password"),
    ):
        secret = sub.add_parser(name, help=f"change {what}")
        secret.add_argument("username")
        secret.add_argument("--stdin", action="store_true", help="read it from standard input")

    enrol = sub.add_parser(
        "enrol-device", help="enrol a phone for a collector; prints its secret once"
    )
    enrol.add_argument("username")
    enrol.add_argument("--label", default="téléphone", help="e.g. 'Nokia 6310i de Sophie'")
    revoke = sub.add_parser(
        "revoke-device", help="a lost phone: it no longer signs in, its sessions end"
    )
    revoke.add_argument("device_id", type=int)
    for name, help_text in (
        ("revoke-sessions", "end every session of a user now"),
        ("unlock", "clear failed sign-ins and the lock"),
        ("deactivate", "forbid sign-in and end every session"),
        ("activate", "allow sign-in again"),
    ):
        sub.add_parser(name, help=help_text).add_argument("username")

    sector = sub.add_parser("sector", help="create or replace a sector: its collector and communes")
    sector.add_argument("name")
    sector.add_argument("--collector", help="the collector's username (none: unassigned)")
    sector.add_argument(
        "--commune", action="append", default=[], help="official commune name; repeat"
    )


def _read_secret(args: argparse.Namespace, label: str) -> str:
    if args.stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"{label}: ")
    if getpass.getpass(f"{label} (again): ") != first:
        raise users.UserError("the two entries differ")
    return first


def run(args: argparse.Namespace, in_database: Runner) -> int:
    command = args.users_command
    try:
        if command == "list":
            in_database(_list)
        elif command == "add":
            role = people.Role(args.role)
            label = (
                "PIN (6 digits or more)"
                if role == people.Role.COLLECTOR
                else "Password (12+ characters)"
            )
            secret = _read_secret(args, label)
            kwargs = {"pin": secret} if role == people.Role.COLLECTOR else {"password": secret}
            in_database(lambda: users.create_user(args.username, args.name, role, **kwargs))
            print(f"User {args.username} created ({role.value}).")
        elif command == "set-pin":
            pin = _read_secret(args, "New PIN")
            in_database(lambda: users.set_pin(args.username, pin))
            print("PIN changed.")
        elif command == "set-password":
            password = _read_secret(args, "New password")
            in_database(lambda: users.set_password(args.username, password))
            print("Password changed.")
        elif command == "enrol-device":
            enrolled = in_database(lambda: users.enrol_device(args.username, args.label))
            print(f"Device {enrolled.device_id} enrolled for {args.username}.")
            print(
                f"Its secret, shown once — hand it to the collector: {credentials.format_device_secret(enrolled.secret)}"
            )
        elif command == "revoke-device":
            in_database(lambda: users.revoke_device(args.device_id))
            print(f"Device {args.device_id} revoked; its sessions have ended.")
        elif command == "revoke-sessions":
            count = in_database(lambda: _revoke_sessions(args.username))
            print(f"{count} sessions ended.")
        elif command == "unlock":
            in_database(lambda: users.unlock(args.username))
            print(f"{args.username} unlocked.")
        elif command in ("deactivate", "activate"):
            in_database(lambda: users.set_active(args.username, command == "activate"))
            print(f"{args.username} {command}d.")
        elif command == "sector":
            in_database(lambda: users.set_sector(args.name, args.collector, args.commune))
            print(f"Sector {args.name}: {len(args.commune)} communes.")
    except (users.UserError, credentials.WeakSecret) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


async def _revoke_sessions(username: str) -> int:
    user = await users.get_user(username)
    count = await sessions.revoke_user_sessions(user.id)
    await audit.record(
        None, "cli", "admin.revoke-sessions", detail=f"user:{user.id}, {count} sessions"
    )
    return count


async def _list() -> None:
    print(f"{'username':<16} {'role':<10} {'state':<10} {'devices':>7}  name")
    for user in await people.User.all().order_by("role", "username"):
        devices = await auth.Device.filter(user_id=user.id, revoked_at=None).count()
        state = "inactive" if not user.active else ("locked" if user.locked_until else "active")
        print(
            f"{user.username:<16} {user.role.value:<10} {state:<10} {devices:>7}  {user.full_name}"
        )
