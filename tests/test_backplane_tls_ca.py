"""A Redis with TLS and a certificate of its own CA, as managed services have: the CA given in
the URL (`?ssl_ca_certs=`) or by `SSL_CERT_FILE`, a CA file that is not there, a relative one
in wsside.toml, a certificate for another name or of another CA. Real `redis-server`s with
TLS (certificates made by openssl in the test's folder), real `wsside serve` and
`wsside doctor` processes, and a `Publisher`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis as redis_py

from cluster import RedisServer, missing
from doctor_projects import CHAT_HANDLER, certificate, env_for, one, run_doctor, write
from serve_process import ServeProcess, free_port
from wsside import Publisher
from wsside._runtime.backplane_outage import MISMATCH, UNTRUSTED, WRONG_CA

pytestmark = pytest.mark.slow


def named_certificate(folder: Path, name: str) -> Path:
    """A self-signed certificate for the host name `name` only (its key beside it)."""
    if shutil.which("openssl") is None:
        missing("needs the openssl command for a self-signed certificate")
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", "key.pem", "-out", "cert.pem", "-subj", f"/CN={name}"),
            *("-addext", f"subjectAltName=DNS:{name}"),
        ],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return folder / "cert.pem"


def tls_server(folder: Path, cert: Path) -> RedisServer:
    port = free_port()
    return RedisServer(
        folder,
        port,
        (
            *("--port", "0", "--tls-port", str(port)),
            *("--tls-cert-file", str(cert), "--tls-key-file", str(cert.parent / "key.pem")),
            *("--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no"),
        ),
    )


@dataclass
class Servers:
    local: int  # a TLS port whose certificate names localhost and 127.0.0.1
    local_ca: Path  # that certificate, its own CA
    other: int  # a TLS port whose certificate names redis.example only
    other_ca: Path


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("tls")
    local_ca = certificate(root / "local")
    other_ca = named_certificate(root / "other", "redis.example")
    local, other = tls_server(root / "r1", local_ca), tls_server(root / "r2", other_ca)
    try:
        for server in (local, other):
            try:
                server.start()
            except AssertionError as exc:
                if "tls" in str(exc).lower():
                    missing(f"this redis-server has no TLS: {exc}")
                raise
        yield Servers(local.port, local_ca, other.port, other_ca)
    finally:
        local.stop()
        other.stop()


async def test_a_certificate_for_another_name_or_of_another_ca_is_named(
    tmp_path: Path, servers: Servers
) -> None:
    """The walkthrough's case: the CA is given, the URL has an IP address the certificate does
    not name. It was told to give the CA it had given."""
    write(tmp_path, CHAT_HANDLER)
    mismatch = f"rediss://127.0.0.1:{servers.other}/0?ssl_ca_certs={servers.other_ca}"
    other_ca = f"rediss://localhost:{servers.local}/0?ssl_ca_certs={servers.other_ca}"
    for url, said, fix in [
        (mismatch, "IP address mismatch, certificate is not valid for '127.0.0.1'", MISMATCH),
        (other_ca, "self-signed certificate", WRONG_CA),
    ]:
        _, report = run_doctor(tmp_path, "--serve", "--", "--backplane", url)
        check = one(report, "backplane")
        assert check["status"] == "fail" and said in check["message"], check
        assert check["fix"] == fix, check
    serve = await ServeProcess.start(
        "--port", str(free_port()), "--backplane", mismatch, cwd=tmp_path
    )
    try:
        line = await serve.expect("is unavailable since")
    finally:
        await serve.stop()
    assert f"; {MISMATCH}): serving local connections only" in line, line


def test_the_ca_reaches_redis_py_in_the_url_or_by_ssl_cert_file(
    tmp_path: Path, servers: Servers
) -> None:
    """What docs/backplane.md gives as the ways: both pass doctor, which subscribes too."""
    write(tmp_path, CHAT_HANDLER)
    base = f"rediss://localhost:{servers.local}/0"
    for url, env in [
        (f"{base}?ssl_ca_certs={servers.local_ca}", env_for()),
        (base, env_for(SSL_CERT_FILE=str(servers.local_ca))),
    ]:
        _, report = run_doctor(tmp_path, "--serve", "--", "--backplane", url, env=env)
        check = one(report, "backplane")
        assert check["message"] == f"{url}: Redis answers, and lets wsside publish and subscribe"


def test_a_ca_file_that_is_not_there_stops_the_start_in_one_line(
    tmp_path: Path, servers: Servers
) -> None:
    """It was an outage that never ended (`Error 2 connecting … No such file or directory`,
    "start Redis there"), and `--no-live` passed it."""
    write(tmp_path, CHAT_HANDLER)
    url = f"rediss://localhost:{servers.local}/0?ssl_ca_certs=/nope/ca.pem"
    said = "backplane: ssl_ca_certs in the URL names /nope/ca.pem, which does not exist"
    run = [sys.executable, "-m", "wsside", "serve", "--port", "0", "--no-reload"]
    done = subprocess.run([*run, "--backplane", url], cwd=tmp_path, capture_output=True, text=True)
    assert (done.returncode, done.stderr.splitlines()) == (2, [f"wsside: {said}"])
    write(tmp_path, {"wsside.toml": f'backplane = "{url}"\n'})
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True)
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        [f'wsside: {tmp_path / "wsside.toml"}:1: key "backplane": {said[len("backplane: ") :]}'],
    )
    code, report = run_doctor(tmp_path, "--serve", "--no-live")
    check = one(report, "backplane")
    assert (code, check["status"], check["message"]) == (1, "fail", said), check
    # A folder is no CA file either.
    folder = f"rediss://localhost:{servers.local}/0?ssl_ca_certs={tmp_path}"
    done = subprocess.run(
        [*run, "--backplane", folder], cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 2, done.stderr
    assert f"names {tmp_path}, which is not a file" in done.stderr, done.stderr


def test_a_relative_ca_file_in_the_config_file_is_taken_from_its_folder(
    tmp_path: Path, servers: Servers
) -> None:
    """As `handlers_dir` is: doctor --root runs elsewhere, as a deploy script does."""
    project = tmp_path / "project"
    write(project, CHAT_HANDLER)
    (project / "tls").mkdir()
    shutil.copy(servers.local_ca, project / "tls" / "ca.pem")
    url = f"rediss://localhost:{servers.local}/0?ssl_ca_certs=tls/ca.pem"
    write(project, {"wsside.toml": f'backplane = "{url}"\n'})
    _, report = run_doctor(project, "--serve")
    check = one(report, "backplane")
    assert check["status"] == "pass", check
    assert f"ssl_ca_certs={project}/tls/ca.pem: Redis answers" in check["message"], check
    # Given as serve's flag: from the folder --root names, where serve would run.
    (project / "wsside.toml").unlink()
    _, report = run_doctor(project, "--serve", "--", "--backplane", url)
    check = one(report, "backplane")
    assert check["status"] == "pass", check


def test_publisher_names_the_ca_it_needs(servers: Servers) -> None:
    untrusted = Publisher(f"rediss://localhost:{servers.local}/0")
    with untrusted as news, pytest.raises(redis_py.exceptions.ConnectionError) as refused:
        news.broadcast("/ws/chat", {"text": "hi"})
    said = str(refused.value)
    assert "self-signed certificate" in said and said.endswith(f"; {UNTRUSTED}"), said
    with Publisher(f"rediss://localhost:{servers.local}/0?ssl_ca_certs={servers.local_ca}") as news:
        assert news.broadcast("/ws/chat", {"text": "hi"}) == 0
