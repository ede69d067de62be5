"""``regie users ...``: people, their secrets, devices and sectors (admin work from a terminal).

PINs and passwords are never taken as arguments (they would stay in the shell history and be
visible to ``ps``): they are typed at a hidden prompt, or read from standard input with ``--stdin``.
Whoever runs the command on the server acts as an admin (:data:`TERMINAL`): the changes go through
:mod:`regie.services.people` like those made on GraphQL, and are audited as ``client:cli``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from regie.db import people
from regie.services import credentials, users
from regie.services import people as people_service
from regie.services.access import ROLE_SCOPES, Viewer

Runner = Callable[[Callable[[], Awaitable[Any]]], Any]
SURFACE = "cli"
TERMINAL = Viewer(
    user_id=None,
    role=people.Role.ADMIN,
    commune_ids=None,
    scopes=ROLE_SCOPES[people.Role.ADMIN],
    client_id="cli",
)
"""The admin at the server's terminal."""


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
            in_database(
                lambda: people_service.create_user(
                    TERMINAL, args.username, args.name, role, surface=SURFACE, **kwargs
                )
            )
            print(f"User {args.username} created ({role.value}).")
        elif command == "set-pin":
            pin = _read_secret(args, "New PIN")
            in_database(
                lambda: people_service.set_pin(TERMINAL, args.username, pin, surface=SURFACE)
            )
            print("PIN changed.")
        elif command == "set-password":
            password = _read_secret(args, "New password")
            in_database(
                lambda: people_service.set_password(
                    TERMINAL, args.username, password, surface=SURFACE
                )
            )
            print("Password changed.")
        elif command == "enrol-device":
            enrolled = in_database(
                lambda: people_service.enrol_device(
                    TERMINAL, args.username, args.label, surface=SURFACE
                )
            )
            print(f"Device {enrolled.device.id} enrolled for {args.username}.")
            print(
                f"Its secret, shown once — hand it to the collector: {credentials.format_device_secret(enrolled.secret)}"
            )
        elif command == "revoke-device":
            in_database(
                lambda: people_service.revoke_device(TERMINAL, args.device_id, surface=SURFACE)
            )
            print(f"Device {args.device_id} revoked; its sessions have ended.")
        elif command == "revoke-sessions":
            count = in_database(
                lambda: people_service.revoke_sessions(TERMINAL, args.username, surface=SURFACE)
            )
            print(f"{count} sessions ended.")
        elif command == "unlock":
            in_database(lambda: people_service.unlock(TERMINAL, args.username, surface=SURFACE))
            print(f"{args.username} unlocked.")
        elif command in ("deactivate", "activate"):
            in_database(
                lambda: people_service.set_active(
                    TERMINAL, args.username, command == "activate", surface=SURFACE
                )
            )
            print(f"{args.username} {command}d.")
        elif command == "sector":
            in_database(
                lambda: people_service.set_sector(
                    TERMINAL,
                    args.name,
                    args.collector,
                    commune_names=args.commune,
                    surface=SURFACE,
                )
            )
            print(f"Sector {args.name}: {len(args.commune)} communes.")
    except (users.UserError, credentials.WeakSecret) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


async def _list() -> None:
    # Through the service every surface uses: the same order, and the same idea of "locked" (a
    # hold that has ended is not one) as the people page.
    print(f"{'username':<16} {'role':<10} {'state':<10} {'devices':>7}  name")
    for person in await people_service.list_users(TERMINAL):
        devices = sum(1 for device in person.devices if device.revoked_at is None)
        state = "inactive" if not person.active else ("locked" if person.locked else "active")
        print(
            f"{person.username:<16} {person.role.value:<10} {state:<10} {devices:>7}  "
            f"{person.full_name}"
        )
