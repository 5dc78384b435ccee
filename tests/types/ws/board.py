from __future__ import annotations

from _shapes import Paint, Said

from wsside import Handler

board = Handler("/ws/board", receives=Paint, sends=Said)
