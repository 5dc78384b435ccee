"""A Redis backplane with TLS on one side only, or a certificate not trusted: `wsside doctor
--serve` and `wsside serve`'s outage line say what to change in the URL, not "start Redis
there". A real `redis-server` listening with TLS (a self-signed certificate made by openssl)
and one without."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster import RedisServer, missing
from doctor_projects import CHAT_HANDLER, certificate, one, run_doctor, write
from serve_process import ServeProcess, free_port
from wsside._runtime.backplane_outage import NOT_TLS, UNTRUSTED, WANTS_TLS

pytestmark = pytest.mark.slow


@pytest.fixture
def redis_servers(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """(TLS port, plain port, the TLS server's certificate): two real redis-servers."""
    cert = certificate(tmp_path / "tls")
    port = free_port()
    tls = RedisServer(
        tmp_path / "redis-tls",
        port,
        (
            *("--port", "0", "--tls-port", str(port)),
            *("--tls-cert-file", str(cert), "--tls-key-file", str(cert.parent / "key.pem")),
            *("--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"),
        ),
    )
    plain = RedisServer(tmp_path / "redis-plain")
    try:
        try:
            tls.start()
        except AssertionError as exc:
            if "tls" in str(exc).lower():
                missing(f"this redis-server has no TLS: {exc}")
            raise
        plain.start()
        yield port, plain.port, cert
    finally:
        tls.stop()
        plain.stop()


def test_doctor_names_the_url_change_tls_needs(
    tmp_path: Path, redis_servers: tuple[int, int, Path]
) -> None:
    tls, plain, cert = redis_servers
    write(tmp_path, CHAT_HANDLER)
    for url, said, fix in [
        (f"rediss://127.0.0.1:{tls}/0", "self-signed certificate", UNTRUSTED),
        (f"rediss://127.0.0.1:{plain}/0", "Timeout connecting", NOT_TLS),
        (f"redis://127.0.0.1:{tls}/0", "Connection reset by peer", WANTS_TLS),
    ]:
        code, report = run_doctor(tmp_path, "--serve", "--timeout", "2", "--", "--backplane", url)
        check = one(report, "backplane")
        assert (code, check["status"]) == (1, "fail"), (url, check)
        assert said in check["message"], (url, check)
        assert check["fix"] == fix, (url, check)
    # What the fix says works.
    url = f"rediss://127.0.0.1:{tls}/0?ssl_ca_certs={cert}"
    _, report = run_doctor(tmp_path, "--serve", "--", "--backplane", url)
    assert one(report, "backplane")["status"] == "pass", one(report, "backplane")
    # Nothing listening is still that.
    url = f"rediss://127.0.0.1:{free_port()}/0"
    _, report = run_doctor(tmp_path, "--serve", "--", "--backplane", url)
    assert one(report, "backplane")["fix"] == (
        "start Redis there, or correct host and port in the URL"
    )


@pytest.mark.parametrize("case", ["untrusted", "not-tls", "wants-tls"])
async def test_serve_s_outage_line_names_the_url_change_tls_needs(
    tmp_path: Path, redis_servers: tuple[int, int, Path], case: str
) -> None:
    tls, plain, _ = redis_servers
    url, said, hint = {
        "untrusted": (f"rediss://127.0.0.1:{tls}/0", "self-signed certificate", UNTRUSTED),
        "not-tls": (f"rediss://127.0.0.1:{plain}/0", "Timeout connecting", NOT_TLS),
        "wants-tls": (f"redis://127.0.0.1:{tls}/0", "Connection reset by peer", WANTS_TLS),
    }[case]
    write(tmp_path, CHAT_HANDLER)
    serve = await ServeProcess.start("--port", str(free_port()), "--backplane", url, cwd=tmp_path)
    try:
        line = await serve.expect("is unavailable since")
    finally:
        await serve.stop()
    assert said in line, line
    assert f"; {hint}): serving local connections only" in line, line
