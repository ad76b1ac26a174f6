"""A chunked upload sent piece by piece over a raw socket, to see where a server stops reading."""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Iterable


def stream_upload(port: int, path: str, headers: dict[str, str], chunks: Iterable[bytes], limit_bytes: int) -> tuple[int, bytes, int]:
    """Send a chunked body piece by piece until the server answers; returns (status, body, bytes sent).

    The body generator could go on for far longer than `limit_bytes`; a server that checks the size
    while streaming answers 413 long before. No time is measured: only how much was sent.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sent = 0
    try:
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode())
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered
            with contextlib.suppress(OSError):
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            sent += len(chunk)
            if sent > limit_bytes:
                break
        response = _read_response(sock)
        return response[0], response[1], sent
    finally:
        sock.close()


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return status, body
