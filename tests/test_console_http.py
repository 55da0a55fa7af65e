"""The console over HTTP, as an attacker or a careless upload would reach it: nothing of it
answers without the login, and a 50 MB upload is refused before it is stored."""

from __future__ import annotations

import pytest

from tests.conftest import serve

PASSWORD = "operator-http-password"


@pytest.fixture
def site(operator_bot):
    from app import build_server
    from chatbot.admin import AdminAuth, Console

    auth = AdminAuth(operator_bot.store, "admin", PASSWORD)
    with serve(build_server(operator_bot, Console(operator_bot, operator_bot.store), auth)) as url:
        yield url


def logged_in(url: str, password: str = PASSWORD, username: str = "admin"):
    import httpx

    client = httpx.Client(base_url=url, timeout=60)
    response = client.post("admin/login", data={"username": username, "password": password})
    return client, response


def test_nothing_of_the_console_answers_without_the_login(site):
    import httpx

    for path in ("admin/config", "admin/gradio_api/info", "admin/gradio_api/queue/join"):
        response = httpx.get(site + path, timeout=30) if "join" not in path else httpx.post(site + path, json={})
        assert response.status_code in (401, 403), (path, response.status_code)
    client, response = logged_in(site, "wrong-password")
    assert response.status_code == 400
    assert client.get("admin/config").status_code == 401
    client, response = logged_in(site)
    assert response.status_code == 200
    assert client.get("admin/config").status_code == 200


def test_a_50_mb_upload_is_refused_and_changes_nothing(site, operator_bot):
    serving = operator_bot.faq
    client, _ = logged_in(site)
    body = b"id,question,answer\n" + b"x,y,z\n" * (50 * 2**20 // 6)
    response = client.post("admin/gradio_api/upload", files={"files": ("faq.csv", body, "text/csv")})
    assert response.status_code == 413, response.text[:200]
    assert "maximum allowed size" in response.text
    assert operator_bot.faq is serving


def test_an_address_with_repeated_failed_sign_ins_is_locked_out_whatever_the_name(site):
    for n in range(5):  # a different name each time: only the address ties them together
        _, response = logged_in(site, "wrong-password", username=f"guess-{n}")
        assert response.status_code == 400
    _, response = logged_in(site)  # the right admin password, from the same address
    assert response.status_code == 429 and "too many failed sign-ins" in response.text
