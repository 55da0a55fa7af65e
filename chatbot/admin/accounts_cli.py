"""``python -m chatbot admin users add|list|disable|enable|set-role|reset-password`` and
``python -m chatbot admin audit [--jsonl FILE]``: operator accounts and the audit trail from
the terminal. They need only the database (no model is loaded), and every change is in the
audit trail as made by ``cli:<login of the terminal's user>``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from chatbot.admin.users import ROLES, Users
from chatbot.store import Store


def add_account_commands(commands: argparse._SubParsersAction) -> None:
    users = commands.add_parser("users", help="operator accounts and their roles").add_subparsers(
        dest="users_command", required=True
    )
    add = users.add_parser("add", help="create an account (its password is generated and shown once if not given)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--password", default=None)
    users.add_parser("list", help="the accounts, their roles and whether they are disabled")
    for command, text in (("disable", "stop an account (its open sessions at their next action)"), ("enable", "")):
        users.add_parser(command, help=text or "let a disabled account sign in again").add_argument("name")
    role = users.add_parser("set-role", help="change an account's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    reset = users.add_parser("reset-password", help="a new password (generated and shown once if not given)")
    reset.add_argument("name")
    reset.add_argument("--password", default=None)
    audit = commands.add_parser("audit", help="the audit trail: who changed what, newest first")
    audit.add_argument("--jsonl", default=None, help="write all of it to this file, one JSON object a line")


def run_account_command(args: argparse.Namespace, store: Store) -> int:
    """One ``users`` or ``audit`` command; prints its result (a JSON object last), returns the exit code."""
    actor = f"cli:{getpass.getuser()}"
    users = Users(store)
    try:
        if args.command == "audit":
            return _audit(store, args.jsonl)
        command = args.users_command
        result: dict = {"user": getattr(args, "name", None)}
        if command == "add":
            password = users.add(args.name, args.role, actor, args.password)
            result["role"] = args.role
            if not args.password:
                print(f"generated password for {args.name}: {password} (shown once)")
        elif command == "list":
            for user in users.list():
                print(f"{user.name:24} {user.role:8} {'disabled' if user.disabled else ''}")
            result = {"users": [user.__dict__ for user in users.list()]}
        elif command == "disable":
            users.disable(args.name, actor)
        elif command == "enable":
            users.enable(args.name, actor)
        elif command == "set-role":
            users.set_role(args.name, args.role, actor)
            result["role"] = args.role
        else:
            password = users.reset_password(args.name, actor, args.password)
            if not args.password:
                print(f"new password for {args.name}: {password} (shown once)")
    except (KeyError, ValueError) as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


def _audit(store: Store, jsonl: str | None) -> int:
    entries = store.audit_log(limit=None if jsonl else 50)
    if jsonl:
        with open(Path(jsonl), "w", encoding="utf-8") as f:
            for entry in reversed(entries):  # oldest first, as a log reads
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
    else:
        for entry in entries:
            change = f"{entry['before'] or ''} -> {entry['after'] or ''}" if entry["before"] or entry["after"] else ""
            print(f"{entry['id']:5d} {entry['actor']:16} {entry['action']:16} {entry['target'] or '':20} {change}")
    print(json.dumps({"entries": len(entries), "file": jsonl}))
    return 0
