"""``regie clients ...`` and ``regie token``, run as the command (on an SQLite file database)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from tortoise.context import TortoiseContext

from regie import cli
from regie.auth import tokens
from regie.db import people
from regie.db.config import tortoise_config

T = TypeVar("T")


async def _prepare(url: str) -> None:
    async with TortoiseContext() as context:
        await context.init(config=tortoise_config(url))
        await context.generate_schemas()
        await people.User.create(username="claire", full_name="Claire", role=people.Role.OFFICE)
        await people.User.create(
            username="parti", full_name="Parti", role=people.Role.OFFICE, active=False
        )


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite://{tmp_path / 'cli.sqlite3'}"
    asyncio.run(_prepare(url))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("REGIE_ENV", raising=False)
    monkeypatch.delenv("REGIE_ISSUER", raising=False)
    return url


def _in_database(url: str, work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        async with TortoiseContext() as context:
            await context.init(config=tortoise_config(url))
            return await work()

    return asyncio.run(run())


def test_clients_add_prints_the_secret_once_and_list_never(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["clients", "add", "Trésorerie", "--scope", "confirmations:write"]) == 0
    added = capsys.readouterr().out
    secret = next(line.split()[-1] for line in added.splitlines() if "client_secret:" in line)
    client_id = next(line.split()[-1] for line in added.splitlines() if "client_id:" in line)
    assert len(secret) >= 43
    assert cli.main(["clients", "list"]) == 0
    listed = capsys.readouterr().out
    assert client_id in listed and "confidential" in listed and "active" in listed
    assert secret not in listed


def test_clients_add_public_with_a_redirect_uri(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        [
            "clients",
            "add",
            "Appli mobile",
            "--scope",
            "tenants:read",
            "--public",
            "--redirect-uri",
            "fr.office.regie:/oauth/callback",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "public" in out and "client_secret" not in out


def test_clients_add_refuses_an_unsafe_redirect_uri(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(
        ["clients", "add", "X", "--scope", "tenants:read", "--redirect-uri", "http://evil.example/"]
    )
    assert code == 1
    assert "must use https" in capsys.readouterr().err


def test_clients_deactivate(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["clients", "add", "Intégration", "--scope", "tenants:read"])
    client_id = next(
        line.split()[-1] for line in capsys.readouterr().out.splitlines() if "client_id:" in line
    )
    assert cli.main(["clients", "deactivate", client_id]) == 0
    assert "deactivated" in capsys.readouterr().out
    assert cli.main(["clients", "deactivate", client_id]) == 1
    assert "inactive" in (cli.main(["clients", "list"]), capsys.readouterr().out)[1]


def test_token_prints_only_the_token_on_stdout(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["token", "claire", "--scope", "tenants:read", "--minutes", "5"]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert "\n" not in token and token.count(".") == 2
    assert "valid until" in captured.err and token not in captured.err
    claims = _in_database(database, lambda: tokens.verify_access_token(token))
    assert claims is not None
    assert claims.scopes == {"tenants:read"}
    assert claims.client_id == "regie-cli"
    assert claims.expires_at - claims.issued_at == timedelta(minutes=5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["token", "claire", "--scope", "admin"], "does not include: admin"),
        (["token", "parti"], "no active user"),
        (["token", "personne"], "no active user"),
        (["token", "claire", "--minutes", "120"], "between 1 and 60"),
    ],
)
def test_token_refuses_what_the_user_may_not_have(
    database: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert cli.main(argv) != 0
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_secrets_and_tokens_stay_out_of_the_audit_log(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from regie.db import auth

    cli.main(["clients", "add", "Trésorerie", "--scope", "confirmations:write"])
    secret = next(
        line.split()[-1]
        for line in capsys.readouterr().out.splitlines()
        if "client_secret:" in line
    )
    cli.main(["token", "claire"])
    token = capsys.readouterr().out.strip()

    async def details() -> list[str]:
        return [f"{e.action} {e.detail}" for e in await auth.AuditEvent.all()]

    logged = _in_database(database, details)
    assert len(logged) == 2
    assert not any(secret in line or token in line for line in logged)


def test_rotate_key_then_purge(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["token", "claire"])
    old = capsys.readouterr().out.strip()
    assert cli.main(["clients", "rotate-key"]) == 0
    assert "now signed with key" in capsys.readouterr().out
    cli.main(["token", "claire"])
    new = capsys.readouterr().out.strip()
    assert _in_database(database, lambda: tokens.verify_access_token(old)) is not None
    assert _in_database(database, lambda: tokens.verify_access_token(new)) is not None
    assert old.split(".")[0] != new.split(".")[0]  # another kid in the header
    assert cli.main(["clients", "purge"]) == 0
    assert "0 expired OAuth2 records deleted" in capsys.readouterr().out
