"""What tells an ASGI worker that it has fellow workers (`_edge/asgi_workers.py`), and the
doctor which ports a process listens on: processes started as uvicorn starts its workers
(multiprocessing's spawn, the listening socket passed to each). Runs on psutil's floor too."""

from __future__ import annotations

import multiprocessing
import os
import socket
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier

import pytest

from wsside._edge.asgi_workers import fellow_workers
from wsside.doctor.checks_process import _listening

SPAWN = multiprocessing.get_context("spawn")


def _worker(sock: socket.socket | None, ready: Barrier, results: multiprocessing.Queue) -> None:
    """A worker: its own socket when given none; reports once every worker has its socket."""
    own = sock or socket.create_server(("127.0.0.1", 0))
    ready.wait(30)
    results.put((os.getpid(), fellow_workers()))
    ready.wait(30)  # none exits while another reads its sockets
    own.close()


def _run(count: int, sock: socket.socket | None) -> Iterator[tuple[int, object]]:
    ready, results = SPAWN.Barrier(count), SPAWN.Queue()
    workers = [SPAWN.Process(target=_worker, args=(sock, ready, results)) for _ in range(count)]
    for worker in workers:
        worker.start()
    try:
        yield from (results.get(timeout=30) for _ in workers)
    finally:
        for worker in workers:
            worker.join(30)
            assert worker.exitcode == 0


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def test_workers_sharing_a_listening_socket_count_each_other(listening: socket.socket) -> None:
    port = listening.getsockname()[1]
    found = dict(_run(2, listening))
    assert list(found.values()) == [(2, f"127.0.0.1:{port}")] * 2, found


def test_processes_listening_on_ports_of_their_own_are_no_workers_of_one_server() -> None:
    found = dict(_run(2, None))
    assert list(found.values()) == [None, None], found


def test_a_process_alone_has_no_fellow_workers(listening: socket.socket) -> None:
    assert fellow_workers() is None  # pytest (or its worker) and its listening socket


def test_the_doctor_reads_the_ports_a_process_listens_on(listening: socket.socket) -> None:
    assert listening.getsockname()[1] in _listening(os.getpid())
