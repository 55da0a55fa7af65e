"""Roles in the console, checked on the server: every event of every tab refuses each role
that lacks the tab's permission (called as Gradio calls it, with the signed-in user's
request), the page shows each role only its tabs, and a disabled account's open page stops
at its next action. The role table itself is tests/chatbot/test_users.py's."""

from __future__ import annotations

import inspect

import gradio as gr
import pytest

from chatbot.admin import ROLE_PERMISSIONS, ROLES, Console, Users
from chatbot.console_page import TAB_PERMISSIONS, build_console

REFUSED = "Your role does not allow this"


@pytest.fixture
def page(operator_bot):
    console = Console(operator_bot, operator_bot.store)
    users = Users(operator_bot.store)
    for role in ROLES:
        users.add(f"the-{role}", role, actor="test", password=f"{role}-password")
    return build_console(console), users, console


def events(page: gr.Blocks) -> list[tuple[str, object]]:
    """Every event handler of the page but the page load, with the permission its tab needs."""
    handlers = [block_fn.fn for block_fn in page.fns.values() if block_fn.fn.__name__ != "load_all"]
    assert len(handlers) >= 20, "the page has fewer events than the tabs wire: did the scan break?"
    return handlers


def call(handler, username: str, *inputs):
    """The handler as Gradio calls it: its inputs (None where not given), then the request."""
    inputs = [*inputs] + [None] * (len(inspect.signature(handler).parameters) - 1 - len(inputs))
    result = handler(*inputs, gr.Request(username=username))
    return list(result) if inspect.isgenerator(result) else result


def test_every_event_refuses_every_role_without_its_permission(page):
    page, users, _ = page
    refused = set()
    for handler in events(page):
        permission = handler.__permission__
        for role in ROLES:
            if permission in ROLE_PERMISSIONS[role]:
                continue
            with pytest.raises(gr.Error, match=REFUSED):
                call(handler, f"the-{role}")
            refused.add(role)
    assert refused == set(ROLES) - {"admin"}  # every role but admin is refused somewhere


def test_each_role_does_what_its_tab_allows(page, operator_bot):
    page, users, console = page
    by_name = {handler.__name__: handler for handler in events(page)}
    operator_bot.reply("roles-1", "I want to talk to a person")
    (handoff,) = console.handoffs()
    call(by_name["take"], "the-agent", handoff["id"])  # the agent takes a handoff, answers, closes it
    call(by_name["send"], "the-agent", handoff["id"], "Hello, I'm here to help.")
    call(by_name["close"], "the-agent", handoff["id"])
    assert console.handoffs() == [] and operator_bot.store.handoff(handoff["id"])["agent"] == "the-agent"
    assert operator_bot.live.news("roles-1", 0).messages[1].text == "Hello, I'm here to help."
    assert call(by_name["traffic"], "the-viewer")  # the viewer reads traffic
    current = console.registry.current().name
    call(by_name["activate"], "the-editor", current)  # the editor activates a version
    assert console.registry.current().name == current
    with pytest.raises(gr.Error, match=REFUSED):
        call(by_name["activate"], "the-agent", current)


def test_the_page_shows_a_role_only_its_tabs(page):
    page, users, _ = page
    load = next(block_fn.fn for block_fn in page.fns.values() if block_fn.fn.__name__ == "load_all")
    tabs = list(TAB_PERMISSIONS)
    for role in ROLES:
        values = load(gr.Request(username=f"the-{role}"))
        shown = [v for v in values if isinstance(v, gr.Tab)]
        visible = {name for name, tab in zip(tabs, shown, strict=True) if tab.visible}
        assert visible == {name for name in tabs if TAB_PERMISSIONS[name] in ROLE_PERMISSIONS[role]}, role


def test_a_disabled_account_is_refused_at_its_next_action(page):
    page, users, _ = page
    traffic = next(handler for handler in events(page) if handler.__name__ == "traffic")
    assert call(traffic, "the-viewer")
    users.disable("the-viewer", actor="the-admin")
    with pytest.raises(gr.Error, match=REFUSED):
        call(traffic, "the-viewer")


def test_what_people_change_in_the_console_is_in_the_audit_trail_with_who_did_it(page, operator_bot):
    page, users, console = page
    by_name = {handler.__name__: handler for handler in events(page)}
    operator_bot.reply("roles-2", "I want to talk to a person")
    (handoff,) = console.handoffs()
    current = console.registry.current().name
    call(by_name["activate"], "the-editor", current)
    call(by_name["close"], "the-agent", handoff["id"])
    call(by_name["cancel"], "the-editor")  # no job runs: nothing changed, nothing recorded
    with pytest.raises(gr.Error, match=REFUSED):
        call(by_name["take"], "the-viewer", handoff["id"])  # refused: nothing recorded
    trail = [(e["actor"], e["action"], e["target"], e["before"], e["after"]) for e in console.audit_log()]
    assert trail[:2] == [
        ("the-agent", "handoff.close", f"handoff {handoff['id']}", "open", "closed"),
        ("the-editor", "version.activate", current, current, current),
    ]
    assert not any(actor == "the-viewer" for actor, *_ in trail)
    audit = next(handler for handler in events(page) if handler.__name__ == "entries")
    assert "handoff.close" in call(audit, "the-admin").to_string()  # the admin's audit tab shows it
    with pytest.raises(gr.Error, match=REFUSED):
        call(audit, "the-editor")


def test_an_admin_manages_accounts_in_the_console_and_no_other_role_can(page):
    page, users, console = page
    by_name = {handler.__name__: handler for handler in events(page) if handler.__qualname__.startswith("Accounts")}
    note, table = call(by_name["add"], "the-admin", "bea", "agent")
    password = note.split("`")[1]
    assert users.verify("bea", password) and users.role_of("bea") == "agent" and "bea" in table.to_string()
    call(by_name["set_role"], "the-admin", "bea", "viewer")
    assert users.role_of("bea") == "viewer"
    note, _ = call(by_name["disable"], "the-admin", "the-admin")  # the only admin: refused, with the reason
    assert "Not changed" in note and "last enabled admin" in note and users.role_of("the-admin") == "admin"
    for role in ("editor", "agent", "viewer"):
        with pytest.raises(gr.Error, match=REFUSED):
            call(by_name["add"], f"the-{role}", "mallory", "admin")
    assert users.role_of("mallory") is None
    assert ("the-admin", "user.create", "bea") in [(e["actor"], e["action"], e["target"]) for e in console.audit_log()]


def test_the_live_tab_says_why_an_action_is_refused_in_the_console_s_words(page, operator_bot):
    page, users, console = page
    by_name = {handler.__name__: handler for handler in events(page) if handler.__qualname__.startswith("Live")}
    operator_bot.reply("roles-3", "I want to talk to a person")
    (handoff,) = console.handoffs()
    text, _, note, *_ = call(by_name["send"], "the-agent", handoff["id"], "hello")
    assert (text, note) == ("hello", "**Not sent:** Take the conversation first.")  # the draft is kept
    call(by_name["take"], "the-admin", handoff["id"])
    _, _, note, *_ = call(by_name["take"], "the-agent", handoff["id"])
    assert note == "**the-admin** has this conversation already."
    _, _, note, *_ = call(by_name["close"], "the-agent", handoff["id"])
    assert note == "**Not changed:** **the-admin** is answering this conversation."
    assert operator_bot.store.handoff(handoff["id"])["status"] == "live"
