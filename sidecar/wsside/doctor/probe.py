"""Talking to a running dev server: finding it, and a real WebSocket handshake through it.

The handshake is written by hand over a socket (not a client library) because the doctor
needs what libraries hide: the exact status and reason of a refusal, the response headers
(which forwarding path served it) and the time of each step.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import socket
import ssl
import struct
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import psutil

from .._protocol.frames import Opcode
from ..closecodes import CloseCode

__all__ = ["DevServer", "Handshake", "find_dev_server", "handshake", "is_vite"]

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True)
class DevServer:
    """`url` like `http://localhost:5173`; `how` says how it was found; `address`: the IP it
    listens on, when found by its process (`0.0.0.0` after `vite --host`), else None."""

    url: str
    how: str
    address: str | None = None


@dataclass
class Handshake:
    status: int | None  # None: no HTTP answer at all
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    ms: float = 0.0  # request sent -> response head read
    ping_ms: float | None = None  # ping -> pong over the open socket, when answered
    # The server's close frame, when it closed the connection before the pong: (code, reason)
    closed: tuple[int, str] | None = None


@functools.cache
def _context() -> ssl.SSLContext:
    # A local dev server's certificate is usually self-signed; the doctor checks routing,
    # not the certificate. So no trust store either: loading the system's costs 50 ms.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# Where a Vite dev server serves its client: under its `base`, at the root, or under Nuxt's
# build prefix.
_CLIENT_PATHS = ("/@vite/client", "/_nuxt/@vite/client")


def _client_paths(base: str) -> list[str]:
    """`_CLIENT_PATHS`, the one under Vite's `base` first. Vite answers every URL outside
    `base` (`/app/`) with a 404, its client's included; a full URL as `base` counts by its
    path, as Vite's dev server takes it."""
    path = urlsplit(base).path if "://" in base else base
    path = "/" + path.strip("/") + "/" if path.strip("/") else "/"
    return list(dict.fromkeys((f"{path}@vite/client", *_CLIENT_PATHS)))


def vite_kind(url: str, timeout: float, base: str = "/") -> str | None:
    """ "dev" when a Vite dev server answers `<base>@vite/client` (Nuxt's,
    `/_nuxt/@vite/client`) with its JavaScript; "preview" when the answer is a page instead
    (`vite preview` gives a single-page app's index.html for any path); else None."""
    kind = None
    for path in _client_paths(base):
        try:
            with urllib.request.urlopen(
                url.rstrip("/") + path,
                timeout=timeout,
                context=_context() if url.startswith("https:") else None,
            ) as resp:
                if resp.status == 200:
                    if "javascript" in resp.headers.get("Content-Type", ""):
                        return "dev"
                    kind = "preview"
        except (OSError, ValueError):
            continue
    return kind


def is_vite(url: str, timeout: float, base: str = "/") -> bool:
    """A Vite server, of either kind, answers at `url`."""
    return vite_kind(url, timeout, base) is not None


def _vite_urls(root: Path, scheme: str) -> list[tuple[str, str]]:
    """Where node processes running in `root` listen (this user's processes only): `vite`,
    or a framework's dev command (`astro dev`, `nuxi dev`, `react-router dev`...), whose
    command line need not say vite; the caller asks each whether Vite answers. Each URL with
    the IP it listens on."""
    urls: list[tuple[str, str]] = []
    for proc in psutil.process_iter(["name"]):
        try:
            if not (proc.info["name"] or "").startswith("node"):
                continue
            if Path(proc.cwd()).resolve() != root:
                continue
            for conn in proc.net_connections(kind="tcp"):
                if conn.status != psutil.CONN_LISTEN:
                    continue
                ip = conn.laddr.ip
                host = "localhost" if ip in ("0.0.0.0", "::") else f"[{ip}]" if ":" in ip else ip
                urls.append((f"{scheme}://{host}:{conn.laddr.port}", ip))
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return sorted(set(urls))


def find_dev_server(
    root: Path, port: int | None, https: bool, timeout: float, base: str = "/"
) -> DevServer | None:
    """This project's running Vite: a node process running vite in `root`, else whatever Vite
    answers on the configured port (default 5173) on localhost. `base`: Vite's."""
    scheme = "https" if https else "http"
    for url, address in _vite_urls(root, scheme):
        kind = vite_kind(url, timeout, base)
        if kind == "dev":
            return DevServer(url, f"the dev server process of {root.name}/", address)
        if kind == "preview":
            return DevServer(url, f"the `vite preview` process of {root.name}/", address)
    url = f"{scheme}://localhost:{port or 5173}"
    if vite_kind(url, timeout, base) == "dev":  # any page server answers a page
        return DevServer(
            url, f"a Vite dev server on port {port or 5173} (not verified to be this project's)"
        )
    return None


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (payload < 126 bytes)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def _read_frame(sock: socket.socket, buf: bytearray) -> tuple[int, bytes]:
    def need(n: int) -> bytes:
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf.extend(chunk)
        out = bytes(buf[:n])
        del buf[:n]
        return out

    first, second = need(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", need(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", need(8))[0]
    return first & 0x0F, need(length)


def handshake(url: str, path: str, timeout: float) -> Handshake:
    """Open a WebSocket to `path` on the dev server at `url` as a same-origin browser would,
    time it, ping once, and close with 1000."""
    parts = urlsplit(url)
    host, port = (
        parts.hostname or "localhost",
        parts.port or (443 if parts.scheme == "https" else 80),
    )
    key = base64.b64encode(os.urandom(16)).decode()
    # As a browser sends it: what a path may not hold as it is (`/api/ws/café`), encoded.
    sent = quote(path, safe="/%:@!$&'()*+,;=?~")
    head = (
        f"GET {sent} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {parts.scheme}://{parts.netloc}\r\nUser-Agent: wsside-doctor\r\n\r\n"
    )
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        return Handshake(None, f"cannot connect to {host}:{port}: {exc}")
    with sock:
        if parts.scheme == "https":
            sock = _context().wrap_socket(sock, server_hostname=host)
        started = time.perf_counter()
        sock.sendall(head.encode())
        buf = bytearray()
        try:
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf.extend(chunk)
        except OSError as exc:
            return Handshake(None, f"no answer: {exc}")
        ms = (time.perf_counter() - started) * 1000
        text, _, rest = bytes(buf).partition(b"\r\n\r\n")
        lines = text.decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[1].isdigit():
            return Handshake(None, f"not an HTTP answer: {lines[0][:80]!r}", ms=ms)
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:]) if k
        }
        result = Handshake(
            int(status_line[1]), status_line[2] if len(status_line) > 2 else "", headers, ms
        )
        if result.status != 101:
            body = rest.decode("utf-8", "replace").strip()
            result.reason = (result.reason + (f": {body[:200]}" if body else "")).strip()
            return result
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            result.reason = "101 with a wrong Sec-WebSocket-Accept"
            return result
        result.ping_ms, result.closed = _ping(sock, bytearray(rest), timeout)
        try:
            sock.sendall(_frame(Opcode.CLOSE, struct.pack("!H", CloseCode.NORMAL_CLOSURE)))
        except OSError:
            pass
        return result


def _ping(
    sock: socket.socket, buf: bytearray, timeout: float
) -> tuple[float | None, tuple[int, str] | None]:
    """Round trip of one ping, or None; and the server's close frame when it closed first
    (an `on_connect` that raised: 1011). Frames the handler sends meanwhile (a greeting, an
    error frame) are skipped."""
    token = os.urandom(8)
    # A handler with its own on_ping may choose not to answer: wait briefly, not `timeout`.
    timeout = min(timeout, 2.0)
    sock.settimeout(timeout)
    started = time.perf_counter()
    try:
        sock.sendall(_frame(Opcode.PING, token))
        while time.perf_counter() - started < timeout:
            opcode, payload = _read_frame(sock, buf)
            if opcode == Opcode.PONG and payload == token:
                return (time.perf_counter() - started) * 1000, None
            if opcode == Opcode.CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                return None, (code, payload[2:].decode("utf-8", "replace"))
    except (OSError, ConnectionError):
        return None, None
    return None, None
