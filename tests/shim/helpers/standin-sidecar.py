#!/usr/bin/env python3
"""A stand-in for the sidecar (given as the shim's `python`; its arguments are ignored). It
says it is ready, then treats handed-over sockets as STANDIN_HANDLES (an environment
variable, from the plugin's `env` option) says:

- `nack` (the default): answers each with NODE_HANDLE_NACK and closes the descriptor, as a
  sidecar does when no descriptor arrived (at its limit of open files);
- `hold-first`: keeps the first one unanswered, as a sidecar whose event loop is blocked,
  until a connection arrives on its Unix socket (the shim's fallback path); that one gets
  `X-Standin: piped`, and then the first socket its late ACK (the descriptor is closed:
  the shim has answered that client by then). Every later handed-over socket gets
  `X-Standin: handed-over` and its ACK at once.

Each answer is a complete HTTP response that closes the connection. The stand-in logs
through the control channel when it holds a socket, so that a test can wait for that.
"""

import array
import json
import os
import selectors
import socket
import sys
import tempfile

MODE = os.environ.get("STANDIN_HANDLES", "nack")
channel = socket.socket(fileno=int(os.environ["NODE_CHANNEL_FD"]))
folder = tempfile.mkdtemp(prefix="wsside-")
listener = socket.socket(socket.AF_UNIX)
listener.bind(os.path.join(folder, "sidecar.sock"))
listener.listen()
held: list[int] = []  # the descriptor kept unanswered


def send(obj: dict) -> None:
    channel.sendall(json.dumps(obj).encode() + b"\n")


def answer(sock: socket.socket, how: str) -> None:
    sock.sendall(
        f"HTTP/1.1 200 OK\r\nX-Standin: {how}\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n".encode()
    )
    sock.close()


def on_handle(fd: int) -> None:
    if MODE == "nack":
        os.close(fd)
        send({"cmd": "NODE_HANDLE_NACK"})
    elif MODE == "hold-first" and not held and not answered_late:
        held.append(fd)
        send({"wsside": 2, "type": "log", "level": "info", "message": "stand-in: holding a socket"})
    else:
        answer(socket.socket(fileno=fd), "handed-over")
        send({"cmd": "NODE_HANDLE_ACK"})


def on_piped() -> None:
    global answered_late
    conn, _ = listener.accept()
    conn.recv(65536)
    answer(conn, "piped")
    if held:
        os.close(held.pop())
        answered_late = True
        send({"cmd": "NODE_HANDLE_ACK"})


def stop() -> None:
    os.unlink(listener.getsockname())
    os.rmdir(folder)
    sys.exit(0)


answered_late = False
send(
    {
        "wsside": 2,
        "type": "ready",
        "pid": os.getpid(),
        "protocol": 2,
        "version": "stand-in",
        "python": sys.executable,
        "prefixes": ["/api"],
        "socket": listener.getsockname(),
        "handlers": [],
    }
)
events = selectors.DefaultSelector()
events.register(channel, selectors.EVENT_READ)
events.register(listener, selectors.EVENT_READ)
buffer = b""
while True:
    for key, _ in events.select():
        if key.fileobj is listener:
            on_piped()
            continue
        fds = array.array("i")
        data, ancdata, _flags, _addr = channel.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
        if not data:
            stop()
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            msg = json.loads(line) if line.strip() else {}
            if msg.get("cmd") == "NODE_HANDLE":
                on_handle(fds.pop(0))
            elif msg.get("type") == "shutdown":
                stop()
