"""Operator accounts, roles and the audit trail, on both dialects: the first admin, accounts
made and changed as the CLI does it, sign-in with lockouts, the role table, and an audit entry
for every change."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chatbot.admin import ROLE_PERMISSIONS, AdminAuth, Users
from chatbot.admin.users import LEGACY_PASSWORD_KEY, hash_password
from chatbot.store import Store
from tests.conftest import PROJECT


@pytest.fixture
def users(database_url) -> Users:
    users = Users(Store(database_url))
    users.bootstrap("admin", "the-admin-password")
    return users


def test_the_role_table():
    assert {role: sorted(p) for role, p in ROLE_PERMISSIONS.items()} == {
        "admin": ["audit", "faq", "live", "review", "traffic", "training", "users", "versions"],
        "editor": ["faq", "review", "training", "versions"],
        "agent": ["live", "review"],
        "viewer": ["traffic"],
    }


def test_accounts_are_made_changed_and_checked_with_an_audit_entry_each(users):
    password = users.add("anna", "agent", actor="admin")
    users.add("vic", "viewer", actor="admin", password="viewer-password")
    assert users.verify("anna", password) and users.verify("vic", "viewer-password")
    assert users.may("anna", "live") and not users.may("anna", "training") and not users.may("vic", "review")
    users.set_role("anna", "editor", actor="admin")
    assert users.may("anna", "training") and not users.may("anna", "live")  # read at each check
    new = users.reset_password("anna", actor="admin")
    assert users.verify("anna", new) and not users.verify("anna", password)
    users.disable("vic", actor="admin")
    assert (
        not users.verify("vic", "viewer-password") and users.role_of("vic") is None and not users.may("vic", "traffic")
    )
    users.enable("vic", actor="admin")
    assert users.may("vic", "traffic")
    trail = [(e["actor"], e["action"], e["target"], e["before"], e["after"]) for e in reversed(users.store.audit_log())]
    assert trail == [
        ("settings", "user.create", "admin", None, "admin"),
        ("admin", "user.create", "anna", None, "agent"),
        ("admin", "user.create", "vic", None, "viewer"),
        ("admin", "user.role", "anna", "agent", "editor"),
        ("admin", "user.password", "anna", None, None),
        ("admin", "user.disable", "vic", "enabled", "disabled"),
        ("admin", "user.enable", "vic", "disabled", "enabled"),
    ]
    assert all(password not in json.dumps(row) for row in users.store.audit_log())


def test_bad_account_changes_are_refused_and_change_nothing(users):
    users.add("anna", "agent", actor="admin")
    before = (users.list(), len(users.store.audit_log()))
    with pytest.raises(KeyError, match="already exists"):
        users.add("anna", "viewer", actor="admin")
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        users.add("bea", "boss", actor="admin")
    with pytest.raises(ValueError, match="user name"):
        users.add("two words", "agent", actor="admin")
    with pytest.raises(ValueError, match="at least 8 characters"):
        users.add("bea", "agent", actor="admin", password="short")
    with pytest.raises(KeyError, match="no user named 'nobody'"):
        users.disable("nobody", actor="admin")
    with pytest.raises(ValueError, match="last enabled admin"):
        users.set_role("admin", "viewer", actor="admin")
    with pytest.raises(ValueError, match="last enabled admin"):
        users.disable("admin", actor="admin")
    assert (users.list(), len(users.store.audit_log())) == before


def test_sign_in_locks_a_name_and_an_address_after_repeated_failures(users):
    users.add("anna", "agent", actor="admin", password="anna-password")
    for _ in range(users.max_failures):
        assert not users.verify("anna", "guess", address="10.0.0.7")
    assert not users.verify("anna", "anna-password")  # the name is locked, even with the right password
    assert not users.verify("admin", "the-admin-password", address="10.0.0.7")  # so is the address
    assert users.verify("admin", "the-admin-password", address="10.0.0.8")
    assert not users.verify("nobody", "anything")


def test_the_first_admin_is_generated_once_or_carried_over_from_the_one_password_before(database_url):
    store = Store(database_url)
    shown: list[str] = []
    AdminAuth(store, "admin", None, announce=shown.append)
    password = shown[0].split("generated password: ")[1].split()[0]
    again = AdminAuth(store, "admin", None, announce=shown.append)
    assert len(shown) == 1 and again("admin", password) and not again("admin", password + "x")


def test_every_enabled_account_signs_in_to_the_console_and_a_disabled_one_does_not(database_url):
    auth = AdminAuth(Store(database_url), "admin", "the-admin-password")
    auth.users.add("anna", "agent", actor="admin", password="anna-password")
    assert auth("anna", "anna-password") and auth("admin", "the-admin-password")
    auth.users.disable("anna", actor="admin")
    assert not auth("anna", "anna-password")


def test_the_one_admin_password_of_earlier_versions_still_signs_in(tmp_path):
    store = Store(tmp_path / "chatbot.db")
    store.put(LEGACY_PASSWORD_KEY, hash_password("the-old-password"))  # as versions before accounts left it
    auth = AdminAuth(store, "admin", None, announce=lambda _: pytest.fail("nothing to generate"))
    assert auth("admin", "the-old-password") and auth.users.role_of("admin") == "admin"


def cli(data, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "chatbot", "admin", *args],
        cwd=PROJECT,
        env={"CHATBOT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )


def test_the_cli_manages_accounts_and_exports_the_audit_trail(tmp_path):
    data = tmp_path / "data"
    added = cli(data, "users", "add", "anna", "--role", "agent")
    assert added.returncode == 0 and "generated password for anna: " in added.stdout, added.stderr
    password = added.stdout.split("generated password for anna: ")[1].split()[0]
    assert cli(data, "users", "set-role", "anna", "editor").returncode == 0
    refused = cli(data, "users", "disable", "nobody")
    assert refused.returncode == 2 and "no user named 'nobody'" in refused.stderr
    listed = json.loads(cli(data, "users", "list").stdout.splitlines()[-1])
    assert listed["users"] == [{"name": "anna", "role": "editor", "disabled": False}]
    assert cli(data, "audit", "--jsonl", str(tmp_path / "audit.jsonl")).returncode == 0
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["action"], e["target"], e["after"]) for e in lines] == [
        ("user.create", "anna", "agent"),
        ("user.role", "anna", "editor"),
    ]
    assert all(e["actor"].startswith("cli:") for e in lines)
    assert Users(Store(data / "chatbot.db")).verify("anna", password)


def test_replicas_starting_at_once_make_one_first_admin(database_url):
    """Each replica's start makes sure of the first admin; started together, they race for it."""
    import threading

    shown, errors = [], []

    def start() -> None:
        try:
            AdminAuth(Store(database_url), "admin", None, announce=shown.append)
        except Exception as exc:  # noqa: BLE001 (any failure is the test's finding)
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(shown) == 1
    assert [(u.name, u.role) for u in Users(Store(database_url)).list()] == [("admin", "admin")]
