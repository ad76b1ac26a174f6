"""API keys (401 vs 403, scopes, keys file), CONNECT_PROTECT_ALL with the login cookie, CORS."""

from __future__ import annotations

import base64
import os
import socket

import pytest
import requests
from openapi_spec_validator import validate
from support.client import Client
from support.errors import assert_error
from support.suites import ADMIN, CORS_ORIGIN, FILE_ADMIN, MANAGER, RUNNER
from support.workflows import chain

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("prefix", ["/api/connect", "/connect"])
def test_a_missing_key_is_401_with_a_bearer_challenge(safe: Client, prefix: str) -> None:
    response = safe.call("GET", f"{prefix}/workflows", key=None)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ComfyUI-Connect"'


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param("Bearer not-a-configured-key-at-all", "invalid_token", id="unknown-key"),
        pytest.param(f"Bearer {ADMIN[:-1]}", "invalid_token", id="key-minus-one-char"),
        pytest.param(f"Bearer {ADMIN}x", "invalid_token", id="key-plus-one-char"),
        pytest.param("Basic " + base64.b64encode(f"user:{ADMIN}".encode()).decode(), "invalid_request", id="basic-scheme"),
        pytest.param("Bearer", "invalid_request", id="empty-bearer"),
    ],
)
def test_an_invalid_key_is_401(safe: Client, authorization: str, code: str) -> None:
    response = safe.call("GET", "/api/connect/workflows", key=None, headers={"Authorization": authorization})
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="ComfyUI-Connect", error="{code}"'


def test_keys_come_from_the_environment_and_the_keys_file(safe: Client) -> None:
    for key in (ADMIN, FILE_ADMIN):
        assert safe.call("GET", "/api/connect/workflows", key=key).status_code == 200


@pytest.mark.parametrize(
    ("key", "method", "path", "status"),
    [
        pytest.param(RUNNER, "POST", "/api/connect/workflows/safe-invert", 200, id="run-may-run-its-workflow"),
        pytest.param(RUNNER, "GET", "/api/connect/workflows/safe-invert", 200, id="run-may-describe-its-workflow"),
        pytest.param(RUNNER, "POST", "/api/connect/workflows/team/open", 200, id="run-may-run-a-listed-name"),
        pytest.param(RUNNER, "POST", "/api/connect/workflows/team/closed", 403, id="run-may-not-run-others"),
        pytest.param(RUNNER, "GET", "/api/connect/workflows/team/closed", 403, id="run-may-not-describe-others"),
        pytest.param(RUNNER, "PUT", "/api/connect/workflows/safe-new", 403, id="run-may-not-save"),
        pytest.param(RUNNER, "DELETE", "/api/connect/workflows/safe-invert", 403, id="run-may-not-delete"),
        pytest.param(MANAGER, "POST", "/api/connect/workflows/team/closed", 200, id="manage-may-run-its-prefix"),
        pytest.param(MANAGER, "PUT", "/api/connect/workflows/other", 403, id="manage-may-not-save-outside-its-prefixes"),
        pytest.param(MANAGER, "GET", "/api/connect/metrics", 403, id="manage-may-not-read-metrics"),
        pytest.param(ADMIN, "GET", "/api/connect/metrics", 200, id="admin-reads-metrics"),
        pytest.param(RUNNER, "GET", "/system_stats", 403, id="run-may-not-use-comfyui"),
        pytest.param(MANAGER, "POST", "/prompt", 403, id="manage-may-not-use-comfyui"),
        pytest.param(ADMIN, "GET", "/system_stats", 200, id="admin-uses-comfyui"),
    ],
)
def test_scopes(safe: Client, key: str, method: str, path: str, status: int) -> None:
    body = {"prompt": chain()} if method == "PUT" else ({} if method == "POST" else None)
    response = safe.call(method, path, key=key, json_body=body)
    if status == 403:
        error = assert_error(response, 403, "forbidden")
        assert "WWW-Authenticate" not in response.headers
        assert error["details"]["access"] in ("run", "manage")
    else:
        assert response.status_code == status, response.text


def test_manage_key_saves_and_deletes_inside_its_prefix(safe: Client) -> None:
    assert safe.call("PUT", "/api/connect/workflows/team/made-by-manager", MANAGER, {"prompt": chain()}).status_code == 201
    assert safe.call("DELETE", "/api/connect/workflows/team/made-by-manager", MANAGER).status_code == 204


def test_a_scoped_key_lists_and_documents_only_its_workflows(safe: Client) -> None:
    listed = {w["name"] for w in safe.call("GET", "/api/connect/workflows", RUNNER).json()["workflows"]}
    assert "team/open" in listed and "safe-invert" in listed
    assert "team/closed" not in listed
    document = safe.call("GET", "/api/connect/openapi.json", RUNNER).json()
    assert "/api/connect/workflows/team/open" in document["paths"]
    assert "/api/connect/workflows/team/closed" not in document["paths"]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert document["paths"]["/api/connect/health"]["get"]["security"] == []
    everything = safe.call("GET", "/api/connect/openapi.json", ADMIN).json()
    assert "/api/connect/workflows/team/closed" in everything["paths"]
    validate(everything)
    for path in ("/api/connect/health", "/api/connect/ready", "/api/connect/metrics", "/api/connect/login", "/api/connect/logout"):
        assert path in everything["paths"]
    assert "401" in everything["paths"]["/api/connect/workflows/safe-invert"]["post"]["responses"]


@pytest.mark.parametrize(
    "path", ["/api/connect/health", "/api/connect/ready", "/api/connect/login", "/connect/docs/swagger-ui.css", "/connect/health"]
)
def test_public_routes_need_no_key(safe: Client, path: str) -> None:
    assert safe.call("GET", path, key=None).status_code == 200


def test_docs_and_openapi_need_a_key(safe: Client) -> None:
    assert_error(safe.call("GET", "/api/connect/openapi.json", key=None), 401, "unauthorized")
    page = safe.call("GET", "/api/connect", key=None, headers={"Accept": "text/html"}, allow_redirects=False)
    assert page.status_code == 303
    assert page.headers["Location"] == "/connect/login?next=%2Fapi%2Fconnect"


# -- CONNECT_PROTECT_ALL and the login cookie ----------------------------------------------------
def test_comfyui_routes_need_a_key(safe: Client) -> None:
    assert_error(safe.call("POST", "/prompt", key=None, json_body={"prompt": {}}), 401, "unauthorized")
    assert_error(safe.call("GET", "/internal/logs", key=None), 401, "unauthorized")
    assert_error(safe.call("GET", "/view?filename=x.png", key=None), 401, "unauthorized")
    page = safe.call("GET", "/", key=None, headers={"Accept": "text/html"}, allow_redirects=False)
    assert page.status_code == 303 and page.headers["Location"] == "/connect/login?next=%2F"


def _jar(response: requests.Response) -> dict[str, str]:
    """The session cookie a login answer set, to send back."""
    session = response.cookies.get("connect_session")
    assert session, response.headers
    return {"connect_session": session}


def _login(safe: Client, key: str, next_: str = "/") -> requests.Response:
    return requests.post(safe.url + "/connect/login", data={"key": key, "next": next_}, allow_redirects=False, timeout=30)


def test_a_browser_logs_in_once_and_uses_comfyui_with_the_cookie(safe: Client) -> None:
    response = _login(safe, ADMIN)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "connect_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert ADMIN not in cookie  # a value derived from the key, not the key
    jar = _jar(response)
    page = requests.get(safe.url + "/", cookies=jar, headers={"Accept": "text/html"}, timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert requests.get(safe.url + "/api/system_stats", cookies=jar, timeout=30).status_code == 200
    assert requests.get(safe.url + "/api/connect/workflows", cookies=jar, timeout=30).status_code == 200
    assert _websocket_status(safe, f"connect_session={jar['connect_session']}") == 101
    assert _websocket_status(safe, None) == 401
    logout = requests.post(safe.url + "/connect/logout", cookies=jar, allow_redirects=False, timeout=30)
    assert logout.status_code == 303 and 'connect_session=""' in logout.headers["Set-Cookie"]


def test_login_refuses_a_bad_key_and_open_redirects(safe: Client) -> None:
    bad = _login(safe, "not-a-configured-key-at-all")
    assert bad.status_code == 401 and "not valid" in bad.text and "Set-Cookie" not in bad.headers
    for hostile in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        assert _login(safe, ADMIN, hostile).headers["Location"] == "/"


def test_a_run_only_cookie_does_not_open_comfyui(safe: Client) -> None:
    jar = _jar(_login(safe, RUNNER))
    assert_error(requests.get(safe.url + "/api/system_stats", cookies=jar, timeout=30), 403, "forbidden")
    assert requests.post(safe.url + "/api/connect/workflows/safe-invert", cookies=jar, json={}, timeout=60).status_code == 200


def test_a_forged_cookie_is_401(safe: Client) -> None:
    response = requests.get(safe.url + "/api/system_stats", cookies={"connect_session": "0" * 64}, timeout=30)
    assert_error(response, 401, "unauthorized")


def _websocket_status(safe: Client, cookie: str | None) -> int:
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /ws?clientId=safety HTTP/1.1",
        f"Host: 127.0.0.1:{safe.server.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if cookie:
        lines.append(f"Cookie: {cookie}")
    with socket.create_connection(("127.0.0.1", safe.server.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


# -- CORS --------------------------------------------------------------------------------------------
def test_cors_preflight_from_an_allowed_origin(safe: Client) -> None:
    headers = {"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    response = safe.call("OPTIONS", "/api/connect/workflows/safe-invert", key=None, headers=headers)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == CORS_ORIGIN
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_cors_call_from_an_allowed_origin_gets_its_answer(safe: Client) -> None:
    response = safe.run("safe-invert", key=RUNNER, headers={"Origin": CORS_ORIGIN})
    assert response.status_code == 200, response.text
    assert response.headers["Access-Control-Allow-Origin"] == CORS_ORIGIN
    assert "X-Connect-Prompt-Id" in response.headers["Access-Control-Expose-Headers"]
    refused = safe.call("GET", "/api/connect/workflows", key=None, headers={"Origin": CORS_ORIGIN})
    assert_error(refused, 401, "unauthorized")
    assert refused.headers["Access-Control-Allow-Origin"] == CORS_ORIGIN  # the page can read why


def test_cors_refuses_other_origins(safe: Client) -> None:
    headers = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    preflight = safe.call("OPTIONS", "/api/connect/workflows/safe-invert", key=None, headers=headers)
    assert_error(preflight, 403, "forbidden")
    assert "Access-Control-Allow-Origin" not in preflight.headers
    call = safe.call("GET", "/api/connect/workflows", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in call.headers
