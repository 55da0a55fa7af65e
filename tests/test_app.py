"""The real server on localhost: the Gradio page, its gradio_client API, /api/chat and /healthz."""

from __future__ import annotations

import pytest


def test_page_is_served(server):
    import httpx

    page = httpx.get(server, timeout=30)
    assert page.status_code == 200, page.status_code
    assert "<gradio-app" in page.text, page.text[:500]


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


def test_rest_chat_keeps_the_conversation(server):
    import httpx

    first = httpx.post(server + "api/chat", json={"session_id": "rest-1", "message": "where is my order?"}, timeout=30)
    assert first.status_code == 200
    body = first.json()
    assert body["route"] == "ask_slot" and body["session_id"] == "rest-1"
    assert {"reply", "route", "intent", "confidence", "suggestions", "sources"} <= set(body)
    second = httpx.post(server + "api/chat", json={"session_id": "rest-1", "message": "A-12345"}, timeout=30).json()
    assert second["route"] == "template" and "A-12345" in second["reply"]
    fresh = httpx.post(server + "api/chat", json={"message": "hello"}, timeout=30).json()
    assert fresh["session_id"] and fresh["session_id"] != "rest-1"


@pytest.mark.parametrize(
    "payload, status",
    [
        ({"session_id": "x"}, 422),
        ({"message": 5}, 422),
        ({"message": "hi", "session_id": "s" * 500}, 422),
        ({"message": "x" * 200_000}, 413),  # refused by size before it is parsed
    ],
)
def test_rest_chat_rejects_malformed_requests(server, payload, status):
    import httpx

    response = httpx.post(server + "api/chat", json=payload, timeout=30)
    assert response.status_code == status


def test_healthz(server):
    import httpx

    health = httpx.get(server + "healthz", timeout=30).json()
    assert health["status"] == "ok" and health["intents"] >= 25 and health["faq_entries"] >= 80
    expected = "onnx" if health["device"] == "cpu" else "torch"  # runtime=auto: ONNX Runtime on the CPU only
    assert health["runtime"] == expected, health


def test_the_widget_gets_its_words_from_the_bot(server):
    import httpx

    response = httpx.get(server + "widget.json", timeout=30)
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == "*"
    assert response.json() == {"language": "en", "open": "Chat with us", "title": "Harbor Goods support chat"}
