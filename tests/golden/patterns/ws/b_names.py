"""Namespace names: from the pattern's words, unique, never a name the file uses."""

from wsside import Handler

dash = Handler("/x/a-b", receives=str)
underscore = Handler("/x/a_b", receives=str)
digits = Handler("/2fa", receives=int)
root = Handler("/", sends=str)
binary = Handler("/binary", receives=bytes, sends=bytes)
quoted = Handler("/it's/`odd`/${x}", receives=str)
