#!/usr/bin/env python3
"""A stand-in for the sidecar (given as the shim's `python`; its arguments are ignored): it
says it is ready, then answers every handed-over socket with NODE_HANDLE_NACK and closes the
descriptor, as a sidecar does when no descriptor arrived (at its limit of open files)."""

import array
import json
import os
import socket
import sys

channel = socket.socket(fileno=int(os.environ["NODE_CHANNEL_FD"]))


def send(obj: dict) -> None:
    channel.sendall(json.dumps(obj).encode() + b"\n")


send({"wsside": 2, "type": "ready", "pid": os.getpid(), "protocol": 2, "version": "nack-test",
      "python": sys.executable, "prefixes": ["/api"], "socket": "/nonexistent", "handlers": []})
buffer = b""
while True:
    fds = array.array("i")
    data, ancdata, _flags, _addr = channel.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
    if not data:
        break
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    for fd in fds:
        os.close(fd)
    buffer += data
    *lines, buffer = buffer.split(b"\n")
    for line in lines:
        msg = json.loads(line) if line.strip() else {}
        if msg.get("cmd") == "NODE_HANDLE":
            send({"cmd": "NODE_HANDLE_NACK"})
        elif msg.get("type") == "shutdown":
            sys.exit(0)
