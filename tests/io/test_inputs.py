from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from PIL import Image
from support.images import b64, png
from support.media import video
from yarl import URL

import connect.io.inputs
from connect.errors import ConnectError, InputFileError, PayloadTooLarge
from connect.io.inputs import FileLimits, InputFiles, Upload
from connect.io.netguard import GuardedResolver

T = TypeVar("T")
LIMIT = 100_000
STORED_NAME = re.compile(r"connect-[0-9a-f]{32}\.[a-z0-9]{1,10}")


PNG = png(size=(4, 4))


def files_under(path: Path) -> list[str]:
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


# -- a local HTTP server to fetch from --------------------------------------------------------------
def _routes(release: asyncio.Event) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get("/img.png")
    @routes.get("/noext")
    async def image(request: web.Request) -> web.StreamResponse:
        return web.Response(body=PNG, content_type="image/png")

    @routes.get("/exact")
    async def exact(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * LIMIT)

    @routes.get("/big")
    async def big(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * (LIMIT + 1))

    @routes.get("/stream")
    async def stream(request: web.Request) -> web.StreamResponse:
        # Chunked, no Content-Length: only counting while reading can stop it.
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(4):
            await response.write(b"x" * 40_000)
        await response.write_eof()
        return response

    @routes.get("/redirect")
    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(request.query["to"])

    @routes.get("/loop")
    async def loop(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/loop")

    @routes.get("/bad-location")
    async def bad_location(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "http://[::1"})

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response(body=PNG)

    return routes


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[URL]:
    release = asyncio.Event()
    app = web.Application()
    app.add_routes(_routes(release))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield URL(f"http://127.0.0.1:{port}")
    finally:
        release.set()
        await runner.cleanup()


def run(limits: FileLimits, input_dir: Path, use: Callable[[InputFiles, URL], Awaitable[T]]) -> T:
    """Run `use(files, server_url)` with a local server and an InputFiles writing into `input_dir`."""

    async def main() -> T:
        files = InputFiles(input_dir, limits)
        try:
            async with serving() as server:
                return await use(files, server)
        finally:
            await files.close()

    return asyncio.run(main())


def resolve(input_dir: Path, spec: Mapping[str, Any], limits: FileLimits | None = None) -> str:
    """Resolve one file object; `{server}` in its url is the local server's address."""

    async def use(files: InputFiles, server: URL) -> str:
        if isinstance(spec.get("url"), str):
            return await files.resolve("load.image", {**spec, "url": spec["url"].replace("{server}", str(server))})
        return await files.resolve("load.image", spec)

    return run(limits or FileLimits(max_bytes=LIMIT, allow_private_urls=True), input_dir, use)


def refused(input_dir: Path, spec: Mapping[str, Any], limits: FileLimits | None = None) -> ConnectError:
    with pytest.raises(ConnectError) as info:
        resolve(input_dir, spec, limits)
    assert not input_dir.exists() or files_under(input_dir) == []
    return info.value


@pytest.fixture
def input_dir(tmp_path: Path) -> Path:
    return tmp_path / "input"


# -- base64 ----------------------------------------------------------------------------------------
def test_base64_is_stored_under_its_hash(input_dir: Path) -> None:
    name = resolve(input_dir, {"type": "file", "content": b64(PNG), "name": "in.png"})
    assert name == f"connect/connect-{hashlib.sha256(PNG).hexdigest()[:32]}.png"
    assert (input_dir / name).read_bytes() == PNG
    assert files_under(input_dir) == [name]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param("data:image/png;base64," + b64(PNG), id="data-uri"),
        pytest.param("DATA:image/png;BASE64," + b64(PNG), id="data-uri-upper"),
        pytest.param("data:image/png;name=in.png;base64," + b64(PNG), id="data-uri-params"),
        pytest.param(base64.encodebytes(PNG).decode(), id="mime-line-breaks"),
    ],
)
def test_base64_forms_decode_to_the_same_file(input_dir: Path, content: str) -> None:
    plain = resolve(input_dir, {"type": "file", "content": b64(PNG), "name": "a.png"})
    name = resolve(input_dir, {"type": "file", "content": content, "name": "b.png"})
    assert name == plain
    assert files_under(input_dir) == [name]  # same content stored once


def test_large_content_is_decoded(input_dir: Path) -> None:
    data = bytes(range(256)) * 2000  # 512 KB: decoded off the event loop
    name = resolve(input_dir, {"type": "file", "content": b64(data), "name": "x.bin"}, FileLimits())
    assert (input_dir / name).read_bytes() == data


def test_different_content_gets_a_different_name(input_dir: Path) -> None:
    a = resolve(input_dir, {"type": "file", "content": b64(png((1, 2, 3), (4, 4)))})
    b = resolve(input_dir, {"type": "file", "content": b64(png((3, 2, 1), (4, 4)))})
    assert a != b
    assert files_under(input_dir) == sorted([a, b])


@pytest.mark.parametrize(
    ("hint", "data", "suffix"),
    [
        pytest.param("in.PNG", b"abc", ".png", id="hint-lowercased"),
        pytest.param("x.tar.gz", b"abc", ".gz", id="last-suffix"),
        pytest.param("x.not a suffix", b"abc", ".bin", id="bad-suffix"),
        pytest.param("x.averyveryverylongsuffix", b"abc", ".bin", id="long-suffix"),
        pytest.param(".png", PNG, ".png", id="dotfile-sniffed"),
        pytest.param(None, PNG, ".png", id="no-hint-png"),
        pytest.param(None, b"\xff\xd8\xff" + png(size=(4, 4))[3:], ".bin", id="no-hint-garbage"),
    ],
)
def test_stored_name_is_never_a_path(input_dir: Path, tmp_path: Path, hint: Any, data: bytes, suffix: str) -> None:
    name = resolve(input_dir, {"type": "file", "content": b64(data), "name": hint})
    assert STORED_NAME.fullmatch(name.removeprefix("connect/"))
    assert name.endswith(suffix)
    assert files_under(tmp_path) == ["input/" + name]


@pytest.mark.parametrize(
    "hint",
    [
        pytest.param("../../../etc/evil.png", id="parent-dirs"),
        pytest.param("/etc/passwd", id="absolute"),
        pytest.param("..\\..\\win.jpg", id="backslashes"),
        pytest.param("con\x00.png", id="nul"),
        pytest.param(7, id="hint-not-a-string"),
    ],
)
def test_a_name_that_tries_to_be_a_path_is_refused(input_dir: Path, tmp_path: Path, hint: Any) -> None:
    with pytest.raises(InputFileError):
        resolve(input_dir, {"type": "file", "content": b64(b"abc"), "name": hint})
    assert files_under(tmp_path) == []


def test_jpeg_is_sniffed(input_dir: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="JPEG")
    assert resolve(input_dir, {"type": "file", "content": b64(out.getvalue())}).endswith(".jpg")


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        pytest.param({"type": "file", "content": "not base64!"}, "is not valid base64", id="bad-chars"),
        pytest.param({"type": "file", "content": "abc"}, "is not valid base64", id="bad-padding"),
        pytest.param({"type": "file", "content": "data:image/png," + b64(PNG)}, "is not valid base64", id="data-uri-not-base64"),
        pytest.param({"type": "file", "content": 12}, "'load.image.content' must be a base64 string", id="not-a-string"),
        pytest.param({"type": "file"}, "exactly one of 'content' (base64), 'url' or 'part'", id="neither"),
        pytest.param({"type": "file", "content": "AA==", "url": "http://x/a.png"}, "exactly one of", id="both"),
        pytest.param({"type": "file", "url": ["http://x"]}, "'load.image.url' must be a string", id="url-not-a-string"),
    ],
)
def test_invalid_file_objects_are_400(input_dir: Path, spec: dict[str, Any], words: str) -> None:
    error = refused(input_dir, spec)
    assert isinstance(error, InputFileError)
    assert error.status == 400
    assert words in error.message
    assert error.details["path"] == "load.image"


@pytest.mark.parametrize("size", [10, 9, 1])
def test_base64_within_the_limit_is_accepted(input_dir: Path, size: int) -> None:
    name = resolve(input_dir, {"type": "file", "content": b64(b"x" * size)}, FileLimits(max_bytes=10))
    assert (input_dir / name).stat().st_size == size


@pytest.mark.parametrize("size", [11, 12, 13, 1000])
def test_base64_over_the_limit_is_413(input_dir: Path, size: int) -> None:
    error = refused(input_dir, {"type": "file", "content": b64(b"x" * size)}, FileLimits(max_bytes=10))
    assert isinstance(error, PayloadTooLarge)
    assert error.status == 413
    assert "larger than the 10 byte limit" in error.message


# -- URLs ------------------------------------------------------------------------------------------
def test_url_is_fetched_when_private_addresses_are_allowed(input_dir: Path) -> None:
    name = resolve(input_dir, {"type": "file", "url": "{server}/img.png"})
    assert name.endswith(".png")
    assert (input_dir / name).read_bytes() == PNG


def test_url_name_hint_and_sniffing(input_dir: Path) -> None:
    assert resolve(input_dir, {"type": "file", "url": "{server}/img.png", "name": "x.webp"}).endswith(".webp")
    assert resolve(input_dir, {"type": "file", "url": "{server}/noext"}).endswith(".png")


def test_url_file_of_exactly_the_limit_is_accepted(input_dir: Path) -> None:
    name = resolve(input_dir, {"type": "file", "url": "{server}/exact"})
    assert (input_dir / name).stat().st_size == LIMIT


def test_redirect_is_followed(input_dir: Path) -> None:
    name = resolve(input_dir, {"type": "file", "url": "{server}/redirect?to=/img.png"})
    assert (input_dir / name).read_bytes() == PNG


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("127.0.0.1", id="loopback"),
        pytest.param("localhost", id="localhost-name"),
        pytest.param("[::1]", id="ipv6-loopback"),
        pytest.param("[::ffff:127.0.0.1]", id="ipv4-mapped"),
        pytest.param("0.0.0.0", id="unspecified"),
        pytest.param("127.1", id="short-form"),
        pytest.param("2130706433", id="decimal-form"),
        pytest.param("169.254.169.254", id="cloud-metadata"),
        pytest.param("10.0.0.1", id="private"),
    ],
)
def test_private_addresses_are_refused_by_default(input_dir: Path, host: str) -> None:
    async def use(files: InputFiles, server: URL) -> str:
        return await files.resolve("load.image", {"type": "file", "url": f"http://{host}:{server.port}/img.png"})

    with pytest.raises(InputFileError) as info:
        run(FileLimits(max_bytes=LIMIT, url_timeout=5), input_dir, use)
    assert info.value.details == {"path": "load.image", "reason": "ssrf"}
    assert "'load.image.url' is refused" in info.value.message
    assert "CONNECT_ALLOW_PRIVATE_URLS=1" in info.value.message
    assert not input_dir.exists()


class PublicOrigin(AbstractResolver):
    """Resolves the name `origin.test` to the local test server, standing in for a public host (this
    machine has no public network). Every other name goes through the real guard."""

    def __init__(self) -> None:
        self._guard = GuardedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host != "origin.test":
            return await self._guard.resolve(host, port, family)
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}]

    async def close(self) -> None:
        await self._guard.close()


@pytest.fixture
def public_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    def connector(allow_private: bool, *_: object) -> aiohttp.TCPConnector:
        assert not allow_private
        return aiohttp.TCPConnector(resolver=PublicOrigin())

    monkeypatch.setattr(connect.io.inputs, "connector", connector)


def fetch_from_origin(input_dir: Path, path_and_query: Callable[[URL], str]) -> str:
    async def use(files: InputFiles, server: URL) -> str:
        url = f"http://origin.test:{server.port}" + path_and_query(server)
        return await files.resolve("load.image", {"type": "file", "url": url})

    return run(FileLimits(max_bytes=LIMIT), input_dir, use)


@pytest.mark.usefixtures("public_origin")
def test_redirect_between_public_hosts_is_followed(input_dir: Path) -> None:
    name = fetch_from_origin(input_dir, lambda s: "/redirect?to=" + f"http://origin.test:{s.port}/img.png")
    assert (input_dir / name).read_bytes() == PNG


@pytest.mark.usefixtures("public_origin")
@pytest.mark.parametrize(
    "target",
    [
        pytest.param("http://127.0.0.1:{port}/img.png", id="literal-loopback"),
        pytest.param("http://[::1]:{port}/img.png", id="literal-ipv6"),
        pytest.param("http://localhost:{port}/img.png", id="name-resolving-to-loopback"),
    ],
)
def test_redirect_to_a_private_address_is_refused(input_dir: Path, target: str) -> None:
    with pytest.raises(InputFileError) as info:
        fetch_from_origin(input_dir, lambda s: str(URL("/redirect").with_query(to=target.format(port=s.port))))
    assert info.value.details["reason"] == "ssrf"
    assert not input_dir.exists()


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("file:///etc/passwd", id="file"),
        pytest.param("ftp://127.0.0.1/x.png", id="ftp"),
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("data:image/png;base64,AAAA", id="data"),
        pytest.param("//example.com/x.png", id="scheme-relative"),
        pytest.param("x.png", id="relative"),
        pytest.param("http:///x.png", id="no-host"),
        pytest.param("{server}/redirect?to=file:///etc/passwd", id="redirect-to-file"),
    ],
)
def test_only_http_and_https_urls_are_fetched(input_dir: Path, url: str) -> None:
    error = refused(input_dir, {"type": "file", "url": url})
    assert isinstance(error, InputFileError)
    assert "only absolute http and https URLs are fetched" in error.message


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://[::1", id="unclosed-ipv6"),
        pytest.param("http://example.com:99999/x.png", id="port-out-of-range"),
        pytest.param("{server}/bad-location", id="bad-redirect-location"),
    ],
)
def test_malformed_url_is_400(input_dir: Path, url: str) -> None:
    error = refused(input_dir, {"type": "file", "url": url})
    assert isinstance(error, InputFileError)
    assert error.status == 400
    assert "'load.image.url'" in error.message


def test_http_error_status_is_400(input_dir: Path) -> None:
    error = refused(input_dir, {"type": "file", "url": "{server}/missing.png"})
    assert isinstance(error, InputFileError)
    assert error.details == {"path": "load.image", "status": 404}
    assert "answered HTTP 404" in error.message


def test_redirect_loop_is_400(input_dir: Path) -> None:
    error = refused(input_dir, {"type": "file", "url": "{server}/loop"})
    assert isinstance(error, InputFileError)
    assert "more than 5 redirects" in error.message


def test_unreachable_server_is_400(input_dir: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = refused(input_dir, {"type": "file", "url": f"http://127.0.0.1:{port}/x.png"})
    assert isinstance(error, InputFileError)
    assert "cannot connect to 127.0.0.1" in error.message


def test_slow_server_times_out(input_dir: Path) -> None:
    error = refused(input_dir, {"type": "file", "url": "{server}/slow"}, FileLimits(url_timeout=0.2, allow_private_urls=True))
    assert isinstance(error, InputFileError)
    assert "fetching" in error.message


@pytest.mark.parametrize(
    ("path", "words"),
    [
        pytest.param("/big", f"the file is {LIMIT + 1} bytes, over the {LIMIT} byte limit", id="content-length"),
        pytest.param("/stream", f"the file is over the {LIMIT} byte limit", id="streamed"),
    ],
)
def test_oversize_download_is_413(input_dir: Path, path: str, words: str) -> None:
    error = refused(input_dir, {"type": "file", "url": "{server}" + path})
    assert isinstance(error, PayloadTooLarge)
    assert error.status == 413
    assert words in error.message


def test_session_is_reused_and_closed(input_dir: Path) -> None:
    async def use(files: InputFiles, server: URL) -> list[str]:
        names = [await files.resolve("a.b", {"type": "file", "url": str(server / "img.png")}) for _ in range(3)]
        await files.close()
        names.append(await files.resolve("a.b", {"type": "file", "url": str(server / "noext")}))
        return names

    names = run(FileLimits(allow_private_urls=True), input_dir, use)
    assert len(set(names)) == 1


# -- multipart parts and what each loader expects -----------------------------------------------------
def upload(input_dir: Path, data: bytes, filename: str | None = None) -> Upload:
    writer = InputFiles(input_dir, FileLimits()).writer()
    for start in range(0, len(data), 3):
        writer.write(data[start : start + 3])
    return writer.finish(filename)


def place(input_dir: Path, spec: Mapping[str, Any], kind: Any = None, parts: Mapping[str, Upload] | None = None) -> str:
    async def main() -> str:
        files = InputFiles(input_dir, FileLimits(max_pixels=64 * 64))
        return await files.resolve("load.image", spec, kind=kind, parts=parts)

    return asyncio.run(main())


def test_a_part_is_placed_under_its_hash_and_its_temp_file_is_left_to_the_caller(input_dir: Path) -> None:
    part = upload(input_dir, PNG, "photo.PNG")
    assert part.digest == hashlib.sha256(PNG).hexdigest() and part.size == len(PNG)
    name = place(input_dir, {"type": "file", "part": "img"}, "image", {"img": part})
    assert name == f"connect/connect-{part.digest[:32]}.png"
    assert (input_dir / name).read_bytes() == PNG
    assert part.tmp.exists()  # a part may feed several inputs; multipart.py removes it after the run
    again = place(input_dir, {"type": "file", "part": "img", "name": "x.webp"}, "image", {"img": part})
    assert again == f"connect/connect-{part.digest[:32]}.webp"


@pytest.mark.parametrize(
    ("spec", "parts", "words"),
    [
        pytest.param({"type": "file", "part": "img"}, None, "multipart/form-data", id="not-multipart"),
        pytest.param({"type": "file", "part": "other"}, "img", "no file part named 'other'", id="unknown-part"),
        pytest.param({"type": "file", "part": "img", "content": "AA=="}, "img", "exactly one of", id="part-and-content"),
    ],
)
def test_part_errors(input_dir: Path, spec: dict[str, Any], parts: str | None, words: str) -> None:
    given = {parts: upload(input_dir, PNG)} if parts else None
    with pytest.raises(InputFileError, match=words):
        place(input_dir, spec, "image", given)


def test_a_file_its_loader_cannot_use_is_never_placed(input_dir: Path) -> None:
    with pytest.raises(InputFileError, match="expects an image") as caught:
        place(input_dir, {"type": "file", "content": b64(b"not an image")}, "image")
    assert caught.value.details == {"path": "load.image", "reason": "not_an_image"}
    assert files_under(input_dir) == []  # not even a temporary file


def test_loader_checks_see_the_pixel_cap(input_dir: Path) -> None:
    big = io.BytesIO()
    Image.new("RGB", (65, 64)).save(big, "PNG")
    with pytest.raises(PayloadTooLarge):
        place(input_dir, {"type": "file", "content": b64(big.getvalue())}, "image")
    assert files_under(input_dir) == []


def test_a_video_gets_a_suffix_its_loader_lists(input_dir: Path) -> None:
    data = video([(0, 0, 0)])
    assert place(input_dir, {"type": "file", "content": b64(data), "name": "clip.bin"}, "video").endswith(".webm")
