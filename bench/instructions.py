"""What the sidecar executes per round trip for a handed-over socket, counted by callgrind.

    .venv/bin/python bench/instructions.py              # raw and JSON echo, 2 runs each (~4 min)
    WSSIDE_LOOP=asyncio .venv/bin/python bench/instructions.py   # asyncio's loop instead

CPU time on a shared machine moves by a third from run to run; instruction counts do not, so
a change to the per-message path of handed-over sockets is judged here first. This script
plays the shim's part: it accepts each client.js connection on a loopback port, reads the
request head and hands the socket to a `wsside serve --ipc` (under valgrind's callgrind) over
a socketpair, as Node's IPC channel does (a JSON line and SCM_RIGHTS, one socket in flight
until the sidecar acknowledges it). client.js then runs its throughput mode, 50 connections;
counters are zeroed at its start event and dumped at its end event. Printed: instructions per
round trip, user space only (the kernel's share of a send or receive is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import Servers, free_port, serve_command  # scripts beside this one
from typed import instructions_per_round_trip

from wsside._edge.control import PROTOCOL_VERSION

SECRET = "s" * 43
WORKLOADS = {  # name: client.js mode and arguments
    "raw echo": ("throughput", ["--path", "/api/ws/echo", "--payload", "x" * 64]),
    "JSON echo": (
        "throughput",
        ["--path", "/api/ws/user-echo", "--payload", '{"type":"chat","text":"' + "x" * 39 + '"}'],
    ),
    "handshake": ("handshake", ["--path", "/api/ws/echo", "--count", "400", "--warmup", "100"]),
}


class Channel:
    """The parent end of the sidecar's IPC channel: JSON lines, descriptors beside them."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def read(self) -> dict[str, object]:
        while b"\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise RuntimeError("the sidecar closed its channel")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        message: dict[str, object] = json.loads(line)
        return message

    def hand_over(self, client: socket.socket, head: bytes) -> None:
        message = {
            "cmd": "NODE_HANDLE",
            "type": "net.Socket",
            "msg": {
                "wsside": PROTOCOL_VERSION,
                "type": "connection",
                "head": head.decode("latin-1"),
                "noDelay": True,
            },
        }
        socket.send_fds(self.sock, [json.dumps(message).encode() + b"\n"], [client.fileno()])
        while self.read().get("cmd") != "NODE_HANDLE_ACK":
            pass


def accept_and_hand_over(listener: socket.socket, channel: Channel) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return  # the listener is closed: the measurement is over
        with client:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(65536)
                if not chunk:
                    break
                head += chunk
            else:
                channel.hand_over(client, head)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--duration-s", type=float, default=4.0)
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("bench/instructions.py needs valgrind (apt-get install valgrind)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="wsside-bench-instructions-") as scratch:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {**os.environ, "NODE_CHANNEL_FD": str(theirs.fileno()), "WSSIDE_SECRET": SECRET}
        log = (Path(scratch) / "sidecar.log").open("wb")
        sidecar = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={scratch}/cg.%p",
                *serve_command("--ipc", "--no-reload"),
            ],
            env=env,
            pass_fds=(theirs.fileno(),),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        listener = socket.create_server(("127.0.0.1", free_port()), backlog=128)
        try:
            ours.settimeout(300)  # start-up under callgrind takes a while
            channel = Channel(ours)
            while channel.read().get("type") != "ready":
                pass
            ours.settimeout(30)
            threading.Thread(
                target=accept_and_hand_over, args=(listener, channel), daemon=True
            ).start()
            servers = Servers(port=listener.getsockname()[1], tls=False)
            print(
                "| workload | sidecar instructions per round trip "
                "(per connection for handshakes) |\n|---|---|"
            )
            for name, (mode, client_args) in WORKLOADS.items():
                if mode == "throughput":
                    client_args = [
                        *client_args,
                        "--clients",
                        "50",
                        "--warmup-s",
                        "2",
                        "--duration-s",
                        str(args.duration_s),
                    ]
                counts = [
                    instructions_per_round_trip(
                        servers, sidecar.pid, Path(scratch), f"{name}-{run}", client_args, mode
                    )
                    for run in range(args.runs)
                ]
                cells = ", ".join(f"{count:,.0f}" for count in counts)
                print(f"| {name} | {cells} |", flush=True)
        finally:
            listener.close()
            sidecar.terminate()
            try:
                sidecar.wait(30)
            except subprocess.TimeoutExpired:
                sidecar.kill()
                sidecar.wait()
            ours.close()
            log.close()
    return 0


if __name__ == "__main__":
    start = time.monotonic()
    status = main()
    print(f"({time.monotonic() - start:.0f} s)", file=sys.stderr)
    sys.exit(status)
