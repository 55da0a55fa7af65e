"""The product in a real browser: headless Debian Chromium driven by Playwright, against the
real server (public chat, console, embed page on another origin) on localhost.

Set SAVE_SCREENSHOTS=docs to refresh the README's screenshots while the tests run.
"""

from __future__ import annotations

import csv
import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from tests.conftest import ASSETS, ZH_CONSOLE_TABS, free_port, serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PASSWORD = "operator-test-password"
TIMEOUT = 30_000  # ms: one turn takes well under a second, page loads a few

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1180, "height": 900})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def site(operator_bot):
    """The whole server (chat, API, console behind its login) for one test."""
    from app import build_server
    from chatbot.admin import AdminAuth, Console

    auth = AdminAuth(operator_bot.store, "admin", PASSWORD)
    with serve(build_server(operator_bot, Console(operator_bot, operator_bot.store), auth)) as url:
        yield url


def screenshot(page, name: str) -> None:
    folder = os.environ.get("SAVE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def say(page, text: str, frame=None):
    """Types a message like a customer and waits for the bot's answer to it."""
    scope = frame or page
    bot_messages = scope.locator("[data-testid='bot']")
    before = bot_messages.count()
    scope.locator("#message textarea").fill(text)
    scope.locator("#message textarea").press("Enter")
    last = bot_messages.nth(before)
    last.wait_for()
    return last


def fresh_reply(bot, text: str):
    return bot.reply(None, text)


def test_customer_gets_faq_and_template_answers(site, page, operator_bot):
    from playwright.sync_api import expect

    page.goto(site)
    question = "Is the Fjord linen duvet cover machine washable?"
    expected = fresh_reply(operator_bot, question)
    assert expected.route == "faq"
    answer = say(page, question)
    expect(answer).to_contain_text(expected.text[:60])

    order = say(page, "Where is my order A-12345?")
    expect(order).to_contain_text("A-12345")
    expect(order).to_contain_text(fresh_reply(operator_bot, "where is my order A-12345?").text[:40])
    screenshot(page, "chat.png")


def test_a_suggestion_button_answers(site, page, operator_bot):
    from playwright.sync_api import expect

    vague = next(
        (t for t in ("gift", "what about the sofa", "chair") if fresh_reply(operator_bot, t).route == "clarify"), None
    )
    assert vague is not None, "none of the vague questions makes the default bot ask to clarify"
    suggestions = fresh_reply(operator_bot, vague).suggestions
    chosen = next(s for s in suggestions if s.endswith("?"))  # an FAQ question, not an intent label
    expected = next(e.answer for e in operator_bot.faq.entries if e.question == chosen)  # the entry offered

    page.goto(site)
    say(page, vague)
    chips = page.locator("#suggestions")
    expect(chips).to_be_visible()
    before = page.locator("[data-testid='bot']").count()
    chips.get_by_text(chosen, exact=True).click()
    answer = page.locator("[data-testid='bot']").nth(before)
    expect(answer).to_contain_text(expected[:60])


def test_thumbs_down_is_recorded(site, page, operator_bot):
    from playwright.sync_api import expect

    page.goto(site)
    say(page, "how much is shipping?")
    assert operator_bot.store.feedback() == []
    page.locator("[data-testid='bot']").last.hover()
    page.get_by_role("button", name="Dislike").last.click()
    expect(page.get_by_text("Thanks, we'll use this")).to_be_visible()
    feedback = operator_bot.store.feedback()
    assert len(feedback) == 1 and feedback[0]["rating"] == -1
    assert feedback[0]["user_text"] == "how much is shipping?"
    assert [r["source"] for r in operator_bot.store.reviews()] == ["thumbs_down"]  # and it awaits review


def test_talk_to_a_person_opens_a_handoff(site, page, operator_bot):
    from playwright.sync_api import expect

    page.goto(site)
    say(page, "my parcel never arrived")
    page.locator("#talk-to-person").click()
    expect(page.locator("[data-testid='bot']").nth(1)).to_be_visible()
    handoffs = operator_bot.store.handoffs()
    assert len(handoffs) == 1
    assert handoffs[0]["transcript"][0] == {"role": "user", "text": "my parcel never arrived"}


def login(page, site: str, password: str, user: str = "admin") -> None:
    page.goto(site + "admin/")
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def type_message(scope, text: str) -> None:
    """Sends a message without waiting for the bot: while a person answers, it says nothing."""
    scope.locator("#message textarea").fill(text)
    scope.locator("#message textarea").press("Enter")


def take_first_conversation(agent, site: str) -> None:
    """The agent signs in, opens the Live tab, picks the newest conversation and takes it."""
    from playwright.sync_api import expect

    login(agent, site, "anna-password", user="anna")
    expect(agent.get_by_role("tab", name="Live")).to_have_attribute("aria-selected", "true")  # an agent's first tab
    expect(agent.locator("#live-queue")).to_contain_text("waiting")
    agent.locator("#live-queue [data-testid='cell-0-1']").click()
    expect(agent.locator("#live-note")).to_contain_text("press Take")
    agent.locator("#live-take").click()
    expect(agent.locator("#live-note")).to_contain_text("You are answering")


def test_a_person_takes_over_the_chat_and_hands_it_back(site, browser, operator_bot):
    """Two browsers: a customer asks for a person; Anna (an agent) takes the conversation; they
    write to each other; Anna hands back and the bot answers the next question."""
    from playwright.sync_api import expect

    from chatbot.admin import Users

    Users(operator_bot.store).add("anna", "agent", actor="test", password="anna-password")
    customer_context, agent_context = (
        browser.new_context(),
        browser.new_context(viewport={"width": 1280, "height": 1000}),
    )
    customer, agent = customer_context.new_page(), agent_context.new_page()
    for page in (customer, agent):
        page.set_default_timeout(TIMEOUT)
    try:
        customer.goto(site)
        say(customer, "my parcel never arrived")
        customer.locator("#talk-to-person").click()
        expect(customer.locator("[data-testid='bot']")).to_have_count(2)

        take_first_conversation(agent, site)
        bot_lines = customer.locator("[data-testid='bot']")
        expect(bot_lines.last).to_contain_text("anna from our team has joined the chat.", timeout=5_000)

        type_message(customer, "It was order A-12345, sent last week")
        expect(agent.locator("#live-chat")).to_contain_text("It was order A-12345, sent last week", timeout=5_000)
        expect(agent.locator("#live-draft textarea")).not_to_have_value("")  # the bot's suggestion, for Anna only
        screenshot(agent, "console-live.png")
        expect(customer.locator("[data-testid='bot']")).to_have_count(3)  # the bot said nothing

        attack = '<img src=x onerror="window.pwned = 1">I have found your parcel'
        agent.locator("#live-reply textarea").fill(attack)
        agent.locator("#live-reply textarea").press("Enter")
        line = customer.locator("[data-testid='bot']").nth(3)
        expect(line).to_contain_text("I have found your parcel", timeout=5_000)
        expect(line).to_contain_text('<img src=x onerror="window.pwned = 1">')  # shown as text
        assert line.locator("img").count() == 0 and customer.evaluate("window.pwned") is None

        agent.locator("#live-hand-back").click()
        expect(customer.locator("[data-testid='bot']").last).to_contain_text("handed you back", timeout=5_000)
        answer = say(customer, "Where is my order A-12345?")
        expect(answer).to_contain_text("A-12345")
        expect(answer).not_to_contain_text("anna")
    finally:
        customer_context.close()
        agent_context.close()
    routes = [t["route"] for t in operator_bot.store.turns(limit=20)]
    assert "human" in routes and "live" in routes


def test_the_embedded_widget_shows_what_a_person_writes(site, page, operator_bot, other_origin):
    from playwright.sync_api import expect

    from chatbot.admin import Console
    from chatbot.admin.users import acting_as

    page.goto(f"{other_origin}embed.html?bot={site}")
    page.get_by_role("button", name="Chat with us").click()
    frame = page.frame_locator("#support-widget")
    say(page, "I want to talk to a person", frame=frame)
    (handoff,) = operator_bot.store.handoffs()
    console = Console(operator_bot, operator_bot.store)
    with acting_as("bea"):
        console.take_handoff(handoff["id"])
        console.send_to_customer(handoff["id"], "Hi, Bea here. How can I help?")
    expect(frame.locator("[data-testid='bot']").last).to_contain_text("Hi, Bea here. How can I help?", timeout=5_000)


def test_console_refuses_a_wrong_password_and_admits_the_right_one(site, page):
    from playwright.sync_api import expect

    login(page, site, "not-the-password")
    expect(page.get_by_text(re.compile("incorrect credentials", re.I))).to_be_visible()
    expect(page.get_by_text("Operator console", exact=True)).to_have_count(0)
    login(page, site, PASSWORD)
    expect(page.get_by_text("Operator console", exact=True)).to_be_visible()
    expect(page.locator("#traffic-summary")).to_contain_text("serving model")


def test_console_plots_traffic_and_each_versions_report(site, page, operator_bot):
    from playwright.sync_api import expect

    from chatbot.admin import Console
    from finetune import TrainingArgs

    questions = ["hi", "where is my order A-12345?", "how much is shipping?", "blorf zzkx", "I want to return a chair"]
    for question in questions:
        reply = operator_bot.reply(None, question)
    operator_bot.store.set_feedback(reply.turn_id, -1)
    job = Console(operator_bot, operator_bot.store).start_retrain(
        force=True, args=TrainingArgs(epochs=1, min_steps=0, max_epochs=1, patience=1)
    )
    assert job.wait(timeout=600).status == "done", job.message

    login(page, site, PASSWORD)
    expect(page.locator("#traffic-summary")).to_contain_text(f"{len(questions)} turns")
    expect(page.locator("#traffic-summary")).to_contain_text("down 1")
    for plot in ("#turns-per-day", "#routes", "#intent-mix"):
        expect(page.locator(f"{plot} canvas, {plot} svg").first).to_be_visible()
    screenshot(page, "console.png")

    page.get_by_role("tab", name="Versions").click()
    expect(page.locator("#versions")).to_contain_text(job.result["version"])
    page.locator("#version-pick input").click()
    page.get_by_role("option", name=job.result["version"]).click()
    page.get_by_text("Operator console", exact=True).click()  # closes the list
    expect(page.locator("#report")).to_contain_text("held-out examples: accuracy")
    expect(page.locator("#per-intent-f1 canvas, #per-intent-f1 svg").first).to_be_visible()
    expect(page.locator("#confusions img, #confusions svg, #confusions canvas").first).to_be_visible()
    screenshot(page, "console-versions.png")


def test_an_uploaded_faq_is_answered_without_a_restart(site, page, operator_bot, tmp_path):
    from playwright.sync_api import expect

    faq = tmp_path / "faq.csv"
    shutil.copy(ASSETS / "faq.csv", faq)
    with open(faq, "a", encoding="utf-8", newline="") as f:
        header = next(csv.reader(open(ASSETS / "faq.csv", encoding="utf-8")))
        row = {name: "" for name in header}
        row.update(
            id="pets-1",
            question="Do you sell cat beds for pets?",
            answer="Yes: the Purr linen cat bed (HG-9001) comes in two sizes.",
        )
        csv.DictWriter(f, header).writerow(row)
    before = len(operator_bot.faq)

    login(page, site, PASSWORD)
    page.get_by_role("tab", name="FAQ").click()
    page.locator("#faq-file input[type=file]").set_input_files(str(faq))
    expect(page.locator("#faq-note")).to_contain_text(f"{before + 1} entries, no errors")
    screenshot(page, "console-faq.png")
    page.locator("#faq-apply").click()
    expect(page.locator("#faq-note")).to_contain_text("Applied")
    assert len(operator_bot.faq) == before + 1

    chat = page.context.new_page()
    chat.goto(site)
    expect(say(chat, "do you sell beds for cats?")).to_contain_text("Purr linen cat bed")


def test_a_broken_faq_upload_is_refused_and_changes_nothing(site, page, operator_bot, tmp_path):
    from playwright.sync_api import expect

    broken = tmp_path / "faq.csv"
    broken.write_text('id,question,answer\nx-1,"Unterminated quote,Some answer\n', encoding="utf-8")
    serving = operator_bot.faq
    login(page, site, PASSWORD)
    page.get_by_role("tab", name="FAQ").click()
    page.locator("#faq-file input[type=file]").set_input_files(str(broken))
    expect(page.locator("#faq-note")).to_contain_text("Not applied")
    expect(page.locator("#faq-apply")).to_be_disabled()
    assert operator_bot.faq is serving


def test_a_question_only_an_imported_document_answers_shows_its_sentences_and_source(site, page, tmp_path):
    from playwright.sync_api import expect

    from tests.chatbot.test_documents import LOYALTY, QUESTION

    club = tmp_path / "loyalty-club.md"
    club.write_text(LOYALTY.replace("free gift wrapping.", "free gift wrapping. <img src=x onerror=alert(1)>"))
    login(page, site, PASSWORD)
    page.get_by_role("tab", name="Documents").click()
    page.locator("#document-files input[type=file]").set_input_files(str(club))
    page.locator("#document-url textarea, #document-url input").first.fill("https://help.example.com/club")
    page.locator("#document-import").click()
    expect(page.locator("#document-note")).to_contain_text("3 passages")
    expect(page.locator("#documents")).to_contain_text("Harbor Club loyalty programme")

    chat = page.context.new_page()
    chat.goto(site)
    answer = say(chat, QUESTION)
    expect(answer).to_contain_text("Gold membership starts at 1,000 points a year")
    source = answer.get_by_role("link", name="Harbor Club loyalty programme > Membership tiers")
    expect(source).to_have_attribute("href", "https://help.example.com/club#membership-tiers")
    passage = answer.locator("details")
    expect(passage.get_by_text("Silver members get free standard shipping")).to_be_hidden()
    passage.get_by_text("Show more").click()
    expect(passage.get_by_text("Silver members get free standard shipping")).to_be_visible()
    assert answer.locator("img").count() == 0  # the document's markup is not kept (only its text)
    screenshot(chat, "chat-document.png")


@pytest.fixture
def other_origin():
    """assets/ served from a second localhost port: another origin than the bot's."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ASSETS))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_the_widget_works_embedded_in_another_site(site, page, other_origin):
    from playwright.sync_api import expect

    page.goto(f"{other_origin}embed.html?bot={site}")
    page.get_by_role("button", name="Chat with us").click()
    frame = page.frame_locator("#support-widget")
    expect(say(page, "Where is my order A-12345?", frame=frame)).to_contain_text("A-12345")
    screenshot(page, "embed.png")


def test_the_web_component_works_in_another_site(site, page, other_origin):
    from playwright.sync_api import expect

    page.goto(f"{other_origin}embed.html?bot={site}&mode=component")
    page.get_by_role("button", name="Chat with us").click()
    widget = page.locator("#support-component gradio-app")
    expect(widget.locator("#message textarea")).to_be_visible()
    expect(say(page.locator("#support-component"), "Where is my order A-12345?")).to_contain_text("A-12345")


def test_a_script_in_a_message_runs_nothing(site, page):
    from playwright.sync_api import expect

    page.goto(site)
    attack = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"><b>bold</b>'
    say(page, attack)
    user = page.locator("[data-testid='user']").last
    expect(user).to_contain_text("<script>window.pwned = 1</script>")  # shown as text
    assert page.evaluate("window.pwned") is None
    assert user.locator("img, script, b").count() == 0


# -- the Chinese bot (CHATBOT_LANGUAGE=zh): one start shared by the tests below -------------------

ZH_QUESTION = "我的订单A-12345到哪了"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def zh_site(zh_bot):
    from app import build_server
    from chatbot.admin import AdminAuth, Console

    auth = AdminAuth(zh_bot.store, "admin", PASSWORD)
    with serve(build_server(zh_bot, Console(zh_bot, zh_bot.store), auth)) as url:
        yield url


@pytest.fixture
def zh_page(browser):
    """A browser set to Chinese, as a Chinese customer's is: Gradio's own words (login form,
    footer) follow the browser's language, the page's and the console's follow the bot's."""
    context = browser.new_context(viewport={"width": 1180, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.slow  # the Chinese bot trains a second model
def test_a_chinese_customer_is_answered_in_chinese_on_a_chinese_page(zh_site, zh_page, zh_bot):
    from playwright.sync_api import expect

    page = zh_page
    expected = zh_bot.reply(None, ZH_QUESTION)
    assert expected.route == "template" and "A-12345" in expected.text, expected.trace
    page.goto(zh_site)
    expect(page.locator("#send")).to_have_text("发送")
    expect(page.locator("#talk-to-person")).to_have_text(zh_bot.person_label)
    assert CHINESE.search(zh_bot.person_label)
    expect(page.locator("#message textarea")).to_have_attribute("placeholder", "输入您的问题，按回车发送")
    expect(page.get_by_text("港湾好物客服中心")).to_be_visible()
    expect(page.get_by_text("您好！请问有什么可以帮您？")).to_be_visible()
    expect(page).to_have_title("港湾好物智能客服")

    answer = say(page, ZH_QUESTION)
    expect(answer).to_contain_text("A-12345")
    expect(answer).to_contain_text(expected.text[:20])
    assert len(CHINESE.findall(answer.inner_text())) > 20
    screenshot(page, "chat-zh.png")


@pytest.mark.slow  # the Chinese bot trains a second model
def test_the_console_speaks_chinese(zh_site, zh_page):
    from playwright.sync_api import expect

    page = zh_page
    page.goto(zh_site + "admin/")
    expect(page.get_by_text("运营后台：请用管理员账号和密码登录。")).to_be_visible()
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("运营后台", exact=True)).to_be_visible()
    for tab in ZH_CONSOLE_TABS:
        expect(page.get_by_role("tab", name=tab)).to_have_count(1)
    expect(page.locator("#traffic-summary")).to_contain_text("近 30 天")
    expect(page.get_by_role("button", name="导出对话记录（JSONL，已脱敏）")).to_be_visible()
    page.get_by_role("tab", name="知识库").click()
    expect(page.locator("#faq-apply")).to_have_text("应用")
    expect(page.locator("#faq-apply")).to_be_disabled()
    screenshot(page, "console-zh.png")


@pytest.mark.slow  # the Chinese bot trains a second model
def test_the_widget_takes_its_words_from_the_bot(zh_site, page, other_origin):
    """The shop's page knows nothing of the bot's language: an English browser gets the Chinese
    bot's widget in Chinese."""
    from playwright.sync_api import expect

    page.goto(f"{other_origin}embed.html?bot={zh_site}")
    toggle = page.locator("#support-toggle")
    expect(toggle).to_have_text("在线客服")
    toggle.click()
    expect(page.locator("#support-widget")).to_have_attribute("title", "港湾好物在线客服")
    frame = page.frame_locator("#support-widget")
    expect(say(page, ZH_QUESTION, frame=frame)).to_contain_text("A-12345")
