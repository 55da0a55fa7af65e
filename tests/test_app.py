"""The Gradio page on a real server on localhost, called the way gradio_client users call it."""

from __future__ import annotations

import socket

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(default_bot):
    from app import build_app

    demo = build_app(default_bot)
    demo.queue(default_concurrency_limit=4, max_size=16)
    port = _free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


def test_page_is_served(server):
    import httpx

    page = httpx.get(server, timeout=30)
    assert page.status_code == 200 and "<gradio-app" in page.text or "gradio" in page.text.lower()


def test_chat_through_the_gradio_api(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    first = client.predict("where is my order?", "tab-1", api_name="/chat")
    assert first["route"] == "ask_slot" and first["intent"] == "order_status"
    other = client.predict("I don't know it", "tab-2", api_name="/chat")  # another session was asked nothing
    assert other["route"] != "ask_slot"
    second = client.predict("it is A-12345", "tab-1", api_name="/chat")  # same session: the slot is filled
    assert second["route"] == "template" and "A-12345" in second["text"]
    assert {"text", "route", "intent", "confidence", "suggestions", "sources"} <= set(second)


def test_only_the_chat_is_in_the_public_api(server):
    from gradio_client import Client

    endpoints = Client(server, verbose=False).view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert list(endpoints) == ["/chat"]
