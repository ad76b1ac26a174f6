"""Hostile names, paths and URLs: every one refused with the one error shape, and nothing on disk changes.

Each case snapshots the whole tree around ComfyUI's base directory (the base itself, with the plugin's
store and ComfyUI's input/output folders, and `outside/` next to it) before and after the request,
and asserts that not one file, folder or link appeared, disappeared or changed. Only ComfyUI's log
and database are left out: they change on every request.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from support.client import Client
from support.disk import tree
from support.errors import assert_error
from support.filehost import FileHost
from support.images import b64, first_pixel, png
from support.suites import ADMIN
from support.workflows import chain

pytestmark = pytest.mark.e2e
UNCHANGING = ("base/comfyui.log", "base/user/comfyui.db")
SAVE_BODY = json.dumps({"prompt": chain()}).encode()


@dataclass(frozen=True)
class Hit:
    status: int
    body: bytes


@dataclass(frozen=True)
class Case:
    send: Callable[[Client, FileHost], Hit]
    status: int
    type: str
    reason: str | None = None  # expected details.reason


def raw(method: str, name: str) -> Callable[[Client, FileHost], Hit]:
    def send(safe: Client, host: FileHost) -> Hit:
        status, _, body = safe.raw(method, "/api/connect/workflows/" + name, SAVE_BODY if method == "PUT" else b"{}")
        return Hit(status, body)

    return send


def run(workflow: str, payload: Callable[[Client, FileHost], Any]) -> Callable[[Client, FileHost], Hit]:
    def send(safe: Client, host: FileHost) -> Hit:
        response = safe.run(workflow, payload(safe, host))
        return Hit(response.status_code, response.content)

    return send


def image_named(name: str) -> Callable[[Client, FileHost], Any]:
    return lambda safe, host: {"load": {"image": {"type": "file", "content": b64(png()), "name": name}}}


def image_url(url: str | Callable[[FileHost], str]) -> Callable[[Client, FileHost], Any]:
    return lambda safe, host: {"load": {"image": {"type": "file", "url": url(host) if callable(url) else url}}}


# Literal and resolved private addresses, and redirects to them (a callable builds the URL from the host).
SSRF_URLS: dict[str, str | Callable[[FileHost], str]] = {
    "loopback": lambda h: f"http://127.0.0.1:{h.port}/img.png",
    "localhost-name": lambda h: f"http://localhost:{h.port}/img.png",
    "ipv6-loopback": lambda h: f"http://[::1]:{h.port}/img.png",
    "ipv4-mapped": lambda h: f"http://[::ffff:127.0.0.1]:{h.port}/img.png",
    "decimal-ip": lambda h: f"http://2130706433:{h.port}/img.png",
    "short-ip": lambda h: f"http://127.1:{h.port}/img.png",
    "octal-ip": lambda h: f"http://0177.0.0.1:{h.port}/img.png",
    "hex-ip": lambda h: f"http://0x7f.0.0.1:{h.port}/img.png",
    "private-10": "http://10.0.0.1/x.png",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "unspecified": lambda h: f"http://0.0.0.0:{h.port}/img.png",
    "redirect-to-loopback": lambda h: h.url("/to-loopback"),
    "redirect-to-localhost": lambda h: h.url("/to-localhost"),
    "redirect-to-comfyui": lambda h: h.url("/to-comfyui"),
    "redirect-to-metadata": lambda h: h.url("/to-metadata"),
}


def image_value(value: str | Callable[[Client], str]) -> Callable[[Client, FileHost], Any]:
    return lambda safe, host: {"load": {"image": value(safe) if callable(value) else value}}


def save_workflow(name: str, prompt: Callable[[Client], Any]) -> Callable[[Client, FileHost], Hit]:
    def send(safe: Client, host: FileHost) -> Hit:
        response = safe.call("PUT", f"/api/connect/workflows/{name}", ADMIN, {"prompt": prompt(safe)})
        return Hit(response.status_code, response.content)

    return send


def hostile(method: str, path: str, headers: dict[str, str], body: bytes) -> Callable[[Client, FileHost], Hit]:
    """A body no well-behaved client sends, byte for byte, with the admin key."""

    def send(safe: Client, host: FileHost) -> Hit:
        conn = http.client.HTTPConnection("127.0.0.1", safe.server.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers={"Authorization": f"Bearer {ADMIN}", **headers})
            response = conn.getresponse()
            return Hit(response.status, response.read())
        finally:
            conn.close()

    return send


MP = {"Content-Type": "multipart/form-data; boundary=zz"}
RUN, SAVE = "/api/connect/workflows/safe-invert", "/api/connect/workflows/safe-ghost"
END = b"\r\n--zz--\r\n"
PAYLOAD_HEADER = b'--zz\r\nContent-Disposition: form-data; name="payload"\r\n\r\n'
FORM_NOPE = {"Content-Type": "application/x-www-form-urlencoded; charset=nope"}
HOSTILE_BODIES = {
    "json-too-deep": ("POST", RUN, {}, b"[" * 100_000, "invalid_json"),
    "json-lone-surrogate": (
        "PUT",
        SAVE,
        {},
        b'{"prompt": {"1": {"class_type": "\\ud800"}}}',
        "invalid_json",
    ),
    "json-huge-number": ("POST", RUN, {}, b'{"canvas": {"width": 1e999}}', "invalid_json"),
    "gzip-not-gzip": ("PUT", SAVE, {"Content-Encoding": "gzip"}, b"not gzip", "bad_request"),
    "multipart-no-boundary": ("POST", RUN, {"Content-Type": "multipart/form-data"}, b"x", "bad_request"),
    "multipart-part-header-no-colon": (
        "POST",
        RUN,
        MP,
        b"--zz\r\nno colon\r\n\r\nx" + END,
        "bad_request",
    ),
    "multipart-payload-too-deep": (
        "POST",
        RUN,
        MP,
        PAYLOAD_HEADER + b"[" * 100_000 + END,
        "invalid_json",
    ),
    "multipart-cut-short": ("POST", RUN, MP, PAYLOAD_HEADER + b"{}", "bad_request"),
    "login-unknown-charset": (
        "POST",
        "/api/connect/login",
        FORM_NOPE,
        b"key=a",
        "bad_request",
    ),
    "login-multipart-cut-short": ("POST", "/api/connect/login", MP, PAYLOAD_HEADER.replace(b"payload", b"key") + b"abc", "bad_request"),
    "webhook-nul-host": ("POST", "/api/connect/workflows/safe-invert?webhook=http://exa%00mple.com/", {}, b"{}", "bad_request"),
}


def secret(safe: Client) -> str:
    return str(safe.root / "outside" / "secret.png")


HOSTILE_NAMES = {
    "dotdot": "../escape",
    "dotdot-deep": "../../outside/victim",
    "encoded-slash": "..%2f..%2foutside%2fvictim",
    "encoded-dots": "%2e%2e%2fescape",
    "double-encoded": "%252e%252e%252fescape",
    "absolute": "/etc/passwd",
    "absolute-encoded": "%2Fetc%2Fpasswd",
    "nul": "a%00b",
    "rtl-override": "%E2%80%AEfdp",
    "fullwidth-dots": "%EF%BC%8E%EF%BC%8E%EF%BC%8Fescape",
    "backslash": "..%5C..%5Cescape",
    "folder-dotdot": "team/../escape",
    "dot": ".",
    "too-long": "a" * 65,
    "too-deep": "a/b/c/d/e/f",
    "suffix": "victim.json",
    "non-ascii-letter": "t%C3%ABst",
    "zero-width": "a%E2%80%8Bb",
}
CASES = [
    *(
        pytest.param(Case(raw(method, name), 400, "invalid_name"), id=f"name-{label}-{method}")
        for label, name in HOSTILE_NAMES.items()
        for method in ("PUT", "GET", "DELETE", "POST")
    ),
    # A newline never matches the workflow route: the plugin answers its namespace itself (404/405, JSON).
    pytest.param(Case(raw("GET", "a%0Ab"), 404, "not_found"), id="name-newline-GET"),
    *(pytest.param(Case(raw(m, "a%0Ab"), 405, "method_not_allowed"), id=f"name-newline-{m}") for m in ("PUT", "DELETE", "POST")),
    # Plain strings for a file input: ComfyUI's LoadImage would open any path it is given.
    pytest.param(Case(run("safe-load", image_value("../../outside/secret.png")), 422, "invalid_payload"), id="value-dotdot"),
    pytest.param(Case(run("safe-load", image_value(secret)), 422, "invalid_payload"), id="value-absolute"),
    pytest.param(Case(run("safe-load", image_value("%2e%2e/%2e%2e/outside/secret.png")), 422, "invalid_payload"), id="value-encoded"),
    pytest.param(Case(run("safe-load", image_value("．．／．．／outside/secret.png")), 422, "invalid_payload"), id="value-fullwidth"),
    pytest.param(Case(run("safe-load", image_value("sub/../../x.png")), 422, "invalid_payload"), id="value-inner-dotdot"),
    pytest.param(Case(run("safe-load", image_value("..\\..\\x.png")), 422, "invalid_payload"), id="value-backslash"),
    pytest.param(Case(run("safe-load", image_value("C:\\x.png")), 422, "invalid_payload"), id="value-drive"),
    pytest.param(Case(run("safe-load", image_value("a\x00.png")), 422, "invalid_payload"), id="value-nul"),
    pytest.param(Case(run("safe-load", image_value("\u202egnp.exe")), 422, "invalid_payload"), id="value-rtl"),
    pytest.param(
        Case(run("safe-save", lambda s, h: {"save": {"filename_prefix": "../../outside/evil"}}), 422, "invalid_payload"),
        id="value-output-prefix-dotdot",
    ),
    pytest.param(
        Case(run("safe-save", lambda s, h: {"save": {"filename_prefix": str(s.root / "outside" / "evil")}}), 422, "invalid_payload"),
        id="value-output-prefix-absolute",
    ),
    # The same paths planted in a saved workflow.
    pytest.param(
        Case(save_workflow("safe-planted", lambda s: {"1": {**chain()["1"]}, "2": _load_node(secret(s))}), 400, "invalid_workflow"),
        id="save-absolute-path",
    ),
    pytest.param(
        Case(save_workflow("safe-planted", lambda s: {"2": _load_node("../../outside/secret.png")}), 400, "invalid_workflow"),
        id="save-dotdot-path",
    ),
    # File names sent with base64 content: only a hint for the extension, refused when path-like.
    *(
        pytest.param(Case(run("safe-load", image_named(name)), 400, "invalid_input_file", "unsafe_name"), id=f"file-name-{label}")
        for label, name in {
            "dotdot": "../../outside/x.png",
            "absolute": "/etc/x.png",
            "nul": "a\x00.png",
            "rtl": "x\u202egnp.exe",
            "fullwidth": "．．／x.png",
            "encoded": "..%2fx.png",
            "backslash": "..\\x.png",
            "drive": "C:x.png",
            "dots": "..",
            "empty": "",
        }.items()
    ),
    # URLs: schemes, literal and resolved private addresses, and every redirect hop.
    *(
        pytest.param(Case(run("safe-load", image_url(url)), 400, "invalid_input_file"), id=f"url-scheme-{label}")
        for label, url in {
            "file": "file:///etc/passwd",
            "ftp": "ftp://127.0.0.2/x.png",
            "gopher": "gopher://127.0.0.2:70/_x",
            "data": "data:image/png;base64,AAAA",
            "relative": "/img.png",
        }.items()
    ),
    *(
        pytest.param(Case(run("safe-load", image_url(url)), 400, "invalid_input_file", "ssrf"), id=f"url-{label}")
        for label, url in SSRF_URLS.items()
    ),
    pytest.param(Case(run("safe-load", image_url(lambda h: h.url("/to-file"))), 400, "invalid_input_file"), id="url-redirect-to-file"),
    pytest.param(Case(run("safe-load", image_url(lambda h: h.url("/loop"))), 400, "invalid_input_file"), id="url-redirect-loop"),
    # Bodies that cannot be read or parsed: 400, never a 500 (tests/test_http_hostile.py has the full table).
    *(
        pytest.param(Case(hostile(method, path, headers, body), 400, type_), id=f"body-{label}")
        for label, (method, path, headers, body, type_) in HOSTILE_BODIES.items()
    ),
]


def _load_node(image: str) -> dict[str, Any]:
    return {"class_type": "LoadImage", "inputs": {"image": image}, "_meta": {"title": "Load $load"}}


@pytest.fixture(scope="module")
def links(safe: Client) -> Client:
    """Symbolic links inside the store pointing outside it, as a careless or hostile admin might leave."""
    (safe.store / "safe-link.json").symlink_to(safe.root / "outside" / "victim.json")
    (safe.store / "safe-linkdir").symlink_to(safe.root / "outside", target_is_directory=True)
    return safe


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_is_refused_and_changes_nothing(links: Client, files_host: FileHost, case: Case) -> None:
    safe = links
    before = tree(safe.root, UNCHANGING)
    hit = case.send(safe, files_host)
    after = tree(safe.root, UNCHANGING)
    body = json.loads(hit.body)
    assert hit.status == case.status, body
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "details"}, body
    assert body["error"]["type"] == case.type, body
    if case.reason:
        assert body["error"]["details"]["reason"] == case.reason, body
    assert after == before, _changes(before, after)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "safe-link", id="read-file-link"),
        pytest.param("PUT", "safe-link", id="write-file-link"),
        pytest.param("DELETE", "safe-link", id="delete-file-link"),
        pytest.param("POST", "safe-link", id="run-file-link"),
        pytest.param("PUT", "safe-linkdir/victim", id="write-through-dir-link"),
        pytest.param("DELETE", "safe-linkdir/victim", id="delete-through-dir-link"),
        pytest.param("GET", "safe-linkdir/victim", id="read-through-dir-link"),
    ],
)
def test_symlinks_inside_the_store_are_refused(links: Client, method: str, path: str) -> None:
    safe = links
    before = tree(safe.root, UNCHANGING)
    response = safe.call(method, f"/api/connect/workflows/{path}", ADMIN, {"prompt": chain()} if method == "PUT" else {})
    assert_error(response, 400, "invalid_name")
    assert tree(safe.root, UNCHANGING) == before
    assert (safe.root / "outside" / "victim.json").read_text() == '{"untouched": true}'
    listed = {w["name"] for w in safe.call("GET", "/api/connect/workflows").json()["workflows"]}
    assert "safe-link" not in listed and "safe-linkdir/victim" not in listed


def test_safe_values_and_urls_still_work(safe: Client, files_host: FileHost) -> None:
    """The guards refuse only what they should: an input-folder name, an allowed URL and a redirect on it."""
    assert safe.run("safe-load", {"load": {"image": "example.png"}}).status_code == 200
    direct = safe.run("safe-load", {"load": {"image": {"type": "file", "url": files_host.url("/img.png")}}})
    assert direct.status_code == 200, direct.text
    assert first_pixel(direct.json()["out"][0]) == (200, 100, 50)
    hop = safe.run("safe-load", {"load": {"image": {"type": "file", "url": files_host.url("/to-image")}}})
    assert hop.status_code == 200, hop.text


def test_a_corrupt_workflow_file_breaks_only_its_endpoint(safe: Client) -> None:
    (safe.store / "safe-corrupt.json").write_text('{"version": 1, "prompt": {"1": ')
    try:
        error = assert_error(safe.call("GET", "/api/connect/workflows/safe-corrupt"), 500, "workflow_corrupt")
        assert "safe-corrupt" in error["message"]
        assert_error(safe.run("safe-corrupt"), 500, "workflow_corrupt")
        listing = safe.call("GET", "/api/connect/workflows").json()
        assert listing["errors"]["safe-corrupt"]["error"]["type"] == "workflow_corrupt"
        assert "safe-invert" in {w["name"] for w in listing["workflows"]}
        assert safe.call("GET", "/api/connect/openapi.json").status_code == 200
        assert safe.run("safe-invert").status_code == 200
    finally:
        (safe.store / "safe-corrupt.json").unlink()


GHOST = {"class_type": "NotInstalledAnywhere", "inputs": {"strength": 0.5, "mode": "soft"}, "_meta": {"title": "Ghost $ghost"}}


def test_a_workflow_whose_node_is_not_installed_never_answers_500(safe: Client) -> None:
    """Saved (e.g. before a custom node was removed): it is described, listed and documented as not ready;
    running it is refused at once (409 endpoint_not_ready naming the class), before ComfyUI sees it."""
    saved = safe.call("PUT", SAVE, ADMIN, {"prompt": chain(GHOST)})
    try:
        assert saved.status_code in (200, 201), saved.text
        assert saved.json()["ready"] is False and saved.json()["missing"][0]["class_type"] == "NotInstalledAnywhere"
        described = safe.call("GET", SAVE)
        assert described.status_code == 200 and "ghost" in described.json()["inputs"], described.text
        assert described.json()["ready"] is False
        listed = safe.call("GET", "/api/connect/workflows").json()
        assert "safe-ghost" in {w["name"] for w in listed["workflows"]} and "safe-ghost" not in listed["errors"]
        document = safe.call("GET", "/api/connect/openapi.json")
        assert document.status_code == 200 and any("safe-ghost" in p for p in document.json()["paths"]), document.text[:500]
        assert safe.call("GET", "/api/connect", headers={"Accept": "text/html"}).status_code == 200
        for payload, status, type_ in (
            ({}, 409, "endpoint_not_ready"),
            ({"ghost": {"strength": 0.7}}, 409, "endpoint_not_ready"),
            ({"ghost": {"x": 1}}, 422, "invalid_payload"),  # the contract is checked first
        ):
            assert_error(safe.run("safe-ghost", payload), status, type_)
    finally:
        (safe.store / "safe-ghost.json").unlink(missing_ok=True)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return f"added {added}, removed {removed}, changed {changed}"
