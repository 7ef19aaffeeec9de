"""RELIABILITY 6(c) and 6(d) against a real server: oversized bodies are refused as they arrive.

A 60 MB upload is refused with 413 whether or not it declares its length, a 100 MB text field
and oversized url-encoded or JSON bodies likewise, and the server's peak memory grows by less
than 64 MB over all of it. The bodies go through a raw socket: an HTTP client library would
hold them in this process, and the server may stop reading and answer before they are sent.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import migrate
from service.access import service as access_service
from service.access.actor import SYSTEM
from service.db import make_engine, session_scope
from service.reference import service as reference_service
from tests.factories import make_enterprise
from tests.liveserver import live_server

PASSWORD = "上传上限测试用的足够长口令-2026"
MB = 1024 * 1024
BLOCK = b"x" * (256 * 1024)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    data_dir = tmp_path_factory.mktemp("limits")
    url = f"sqlite:///{data_dir / 'limits.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_scope(engine) as session:
        reference_service.load(session)
        access_service.add_user(
            session,
            SYSTEM,
            username="limits",
            display_name="上限",
            role="manager",
            password=PASSWORD,
        )
        enterprise = make_enterprise(session)
        enterprise_id = enterprise.id
    engine.dispose()
    with live_server(url, data_dir) as server:
        yield {
            "port": server.port,
            "pid": server.pid,
            "base": server.base,
            "enterprise_id": enterprise_id,
            **_sign_in(server.base),
        }


def _sign_in(base: str) -> dict[str, str]:
    """A page session (cookie + its CSRF token) and an API token, through the real forms."""
    jar = urllib.request.HTTPCookieProcessor()
    opener = urllib.request.build_opener(jar)
    with opener.open(f"{base}/login", timeout=10) as r:
        token = re.search(r'name="csrf_token" value="([^"]+)"', r.read().decode())
    assert token
    form = urllib.parse.urlencode(
        {"username": "limits", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
    ).encode()
    with opener.open(f"{base}/login", data=form, timeout=10) as r:
        page = r.read().decode()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar.cookiejar if c.path == "/")
    request = urllib.request.Request(
        f"{base}/api/v1/auth/token",
        data=b'{"username": "limits", "password": "%s"}' % PASSWORD.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        bearer = re.search(r'"token":\s*"([^"]+)"', r.read().decode())
    assert bearer
    return {"cookie": cookie, "csrf": csrf.group(1), "bearer": bearer.group(1)}


def _send(
    port: int,
    head: str,
    parts: Iterator[bytes],
    *,
    chunked: bool,
) -> tuple[int, bytes, float]:
    """Send a request, reading the answer while the body is still going out.

    Returns (status, response, seconds until the status line arrived)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    started = time.monotonic()
    answer = bytearray()
    arrived: list[float] = []

    def read() -> None:
        try:
            while chunk := sock.recv(65536):
                if not arrived:
                    arrived.append(time.monotonic() - started)
                answer.extend(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    reader.start()
    try:
        sock.sendall(head.encode("latin-1"))
        for part in parts:
            if arrived:
                break  # answered: the rest would go nowhere
            sock.sendall(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
        else:
            if chunked:
                sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered and closed while we were still sending
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
    reader.join(timeout=60)
    sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, bytes(answer), arrived[0] if arrived else float("inf")


def _head(port: int, method: str, path: str, headers: dict[str, str]) -> str:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def _blocks(total: int, prefix: bytes = b"", suffix: bytes = b"") -> Iterator[bytes]:
    yield prefix
    sent = 0
    while sent < total:
        block = BLOCK[: total - sent]
        sent += len(block)
        yield block
    yield suffix


BOUNDARY = "tierledgerlimit"


def _multipart_file(size: int) -> tuple[bytes, bytes, int]:
    prefix = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="大.xlsx"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    suffix = f"\r\n--{BOUNDARY}--\r\n".encode()
    return prefix, suffix, len(prefix) + size + len(suffix)


def _multipart_field(size: int, csrf: str) -> tuple[bytes, bytes, int]:
    prefix = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="district"\r\n\r\n'
    ).encode()
    suffix = f"\r\n--{BOUNDARY}--\r\n".encode()
    return prefix, suffix, len(prefix) + size + len(suffix)


def test_oversized_bodies_are_refused_as_they_arrive(live: dict[str, object]) -> None:
    port, pid = int(str(live["port"])), int(str(live["pid"]))
    multipart = f"multipart/form-data; boundary={BOUNDARY}"
    page = {"Cookie": str(live["cookie"]), "Origin": str(live["base"])}
    bearer = {"Authorization": f"Bearer {live['bearer']}"}
    before = _peak_rss_mb(pid)

    # (c) 60 MB declaring its length: refused before the body is read.
    prefix, suffix, length = _multipart_file(60 * MB)
    status, answer, seconds = _send(
        port,
        _head(
            port,
            "POST",
            "/api/v1/imports",
            bearer | {"Content-Type": multipart, "Content-Length": str(length)},
        ),
        _blocks(60 * MB, prefix, suffix),
        chunked=False,
    )
    assert status == 413, answer[-700:].decode(errors="replace")
    assert "上传".encode() in answer or "上限".encode() in answer
    assert seconds < 10

    # The same 60 MB sent chunked to the page upload: counted, refused past 50 MB.
    prefix, suffix, _ = _multipart_file(60 * MB)
    csrf_field = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{live['csrf']}\r\n"
    ).encode()
    status, answer, _ = _send(
        port,
        _head(
            port,
            "POST",
            "/imports",
            page | {"Content-Type": multipart, "Transfer-Encoding": "chunked"},
        ),
        _blocks(60 * MB, csrf_field + prefix, suffix),
        chunked=True,
    )
    assert status == 413, answer[-700:].decode(errors="replace")
    assert b"50 MB" in answer

    # The API upload without a declared length is refused at once (411).
    status, answer, _ = _send(
        port,
        _head(
            port,
            "POST",
            "/api/v1/imports",
            bearer | {"Content-Type": multipart, "Transfer-Encoding": "chunked"},
        ),
        _blocks(8 * MB, prefix, suffix),
        chunked=True,
    )
    assert status == 411, answer[-700:].decode(errors="replace")

    # (d) a 100 MB text field, declared and chunked: refused, never held.
    prefix, suffix, length = _multipart_field(100 * MB, str(live["csrf"]))
    for headers, chunked in (
        ({"Content-Length": str(length)}, False),
        ({"Transfer-Encoding": "chunked"}, True),
    ):
        status, answer, _ = _send(
            port,
            _head(port, "POST", "/imports", page | {"Content-Type": multipart} | headers),
            _blocks(100 * MB, prefix, suffix),
            chunked=chunked,
        )
        assert status in {400, 413}, answer[-700:].decode(errors="replace")

    # A 20 MB url-encoded edit form and a 20 MB JSON edit, sent chunked.
    form_prefix = f"csrf_token={live['csrf']}&version=1&notes=".encode()
    status, answer, _ = _send(
        port,
        _head(
            port,
            "POST",
            f"/enterprises/{live['enterprise_id']}",
            page
            | {"Content-Type": "application/x-www-form-urlencoded", "Transfer-Encoding": "chunked"},
        ),
        _blocks(20 * MB, form_prefix),
        chunked=True,
    )
    # Starlette's form parser stops one field at 1 MB (400) before our 2 MB count (413).
    assert status in {400, 413}, answer[-700:].decode(errors="replace")
    status, answer, _ = _send(
        port,
        _head(
            port,
            "PATCH",
            f"/api/v1/enterprises/{live['enterprise_id']}",
            bearer
            | {
                "Content-Type": "application/json",
                "If-Match": '"1"',
                "Transfer-Encoding": "chunked",
            },
        ),
        _blocks(20 * MB, b'{"notes": "', b'"}'),
        chunked=True,
    )
    assert status == 413, answer[-700:].decode(errors="replace")
    assert b"application/problem+json" in answer

    growth = _peak_rss_mb(pid) - before
    assert growth < 64, f"peak RSS grew by {growth:.0f} MB"
    with urllib.request.urlopen(f"{live['base']}/healthz", timeout=5) as r:
        assert r.status == 200  # and the server goes on serving
