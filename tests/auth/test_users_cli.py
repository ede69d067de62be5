"""``regie users ...`` and ``regie audit ...`` run as the command, on an SQLite file migrated like production."""

from __future__ import annotations

import io
import re
import sqlite3
from pathlib import Path

import pytest

from regie import cli
from tests.conftest import COLLECTOR_PIN, OFFICE_PASSWORD


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite://{tmp_path / 'users.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("REGIE_ENV", raising=False)
    assert cli.main(["migrate"]) == 0
    return url


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(list(argv))


def test_an_admin_sets_up_a_collector_with_a_phone_from_the_terminal(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            monkeypatch,
            "users",
            "add",
            "jldelmas",
            "--name",
            "Jean-Luc Delmas",
            "--role",
            "collector",
            "--stdin",
            stdin=COLLECTOR_PIN + "\n",
        )
        == 0
    )
    assert run(monkeypatch, "users", "enrol-device", "jldelmas", "--label", "Nokia 6310i") == 0
    enrolled = capsys.readouterr().out
    secret = re.search(r"(\d{5} \d{5} \d{5} \d{5})", enrolled)
    assert secret is not None, enrolled
    assert run(monkeypatch, "users", "list") == 0
    listing = capsys.readouterr().out
    assert "jldelmas" in listing and "collector" in listing
    assert COLLECTOR_PIN not in listing and secret.group(1) not in listing


def test_the_listing_says_locked_only_while_a_hold_lasts(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    add = ["users", "add", "jldelmas", "--name", "Jean-Luc Delmas", "--role", "collector"]
    assert run(monkeypatch, *add, "--stdin", stdin=COLLECTOR_PIN + "\n") == 0
    assert run(monkeypatch, "users", "enrol-device", "jldelmas", "--label", "Nokia") == 0
    capsys.readouterr()

    def state_after_hold(until: str) -> str:
        with sqlite3.connect(database.removeprefix("sqlite://")) as db:
            db.execute("UPDATE app_user SET locked_until = ? WHERE username = 'jldelmas'", [until])
        assert run(monkeypatch, "users", "list") == 0
        (line,) = [line for line in capsys.readouterr().out.splitlines() if "jldelmas" in line]
        return line.split()[2]

    assert state_after_hold("2999-01-01 00:00:00+00:00") == "locked"
    assert state_after_hold("2020-01-01 00:00:00+00:00") == "active"  # the hold has ended


def test_weak_secrets_are_refused_with_the_rule(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        monkeypatch,
        "users",
        "add",
        "claire",
        "--name",
        "Claire",
        "--role",
        "office",
        "--stdin",
        stdin="short\n",
    )
    assert code == 1
    assert "12 characters" in capsys.readouterr().err


def test_an_office_user_added_by_the_terminal_can_sign_in_and_the_audit_verifies(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            monkeypatch,
            "users",
            "add",
            "claire",
            "--name",
            "Claire",
            "--role",
            "office",
            "--stdin",
            stdin=OFFICE_PASSWORD + "\n",
        )
        == 0
    )
    assert run(monkeypatch, "users", "revoke-sessions", "claire") == 0
    assert run(monkeypatch, "audit", "verify") == 0
    assert "intact" in capsys.readouterr().out
