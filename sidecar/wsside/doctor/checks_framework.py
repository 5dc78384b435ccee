"""The vite.config check of an Astro or Nuxt project. The framework builds Vite's config from
its own file (astro.config.*, nuxt.config.*), where wsside() goes under `vite: { plugins }`,
and never reads a vite.config.* beside it: wsside() there starts no sidecar, and the browser's
upgrades stay unanswered without a word in the terminal."""

from __future__ import annotations

import re
from pathlib import Path

from .model import Check, failed, passed, warned
from .vite_config import ViteFacts

__all__ = ["SHIM", "framework_uses_plugin"]

SHIM = "vite-plugin-wsside"


def framework_uses_plugin(shown: str, facts: ViteFacts) -> Check:
    """The row for `facts` read from the framework's config, `shown` as the report names it.
    Elsewhere in that config (Astro's `integrations`, Nuxt's `modules`) wsside() does
    nothing, as in a vite.config beside it."""
    framework = facts.framework
    add = f"vite: {{ plugins: [wsside()] }} in {shown}, with import wsside from '{SHIM}'"
    unread = None if facts.unread is None else facts.unread.name
    if facts.outside_vite:
        return failed(
            "vite.config",
            f"{shown} calls wsside() outside its vite: {{...}}, where {framework} does not "
            "give it to Vite",
            f"move it: {add}",
        )
    if facts.wsside_options is None and facts.unread_uses_plugin:
        return failed(
            "vite.config",
            f"{unread} has wsside(), which {framework} never reads (it reads {shown})",
            f"move it to {shown}: vite: {{ plugins: [wsside()] }}, with import wsside from "
            f"'{SHIM}'",
        )
    if facts.wsside_options is None:
        why = "no vite.config" if unread is None else f"{framework} never reads {unread}"
        return failed(
            "vite.config", f"{shown} does not use the wsside plugin ({why})", f"add {add}"
        )
    if facts.unread_uses_plugin and facts.unread is not None and _vitest_config(facts.unread):
        return passed(
            "vite.config",
            f"{shown} uses wsside() in vite.plugins; {unread} has it too, for Vitest, which "
            f"reads that file ({framework} does not)",
        )
    if facts.unread_uses_plugin:
        return warned(
            "vite.config",
            f"{shown} uses wsside() in vite.plugins; {unread} has wsside() too, but "
            f"{framework} never reads it (harmless, but misleading)",
            f"take wsside() out of {unread} (or delete it, if nothing else reads it)",
        )
    return passed(
        "vite.config",
        f"{shown} uses wsside() in vite.plugins (read as text: {framework} builds Vite's "
        "config itself)",
    )


def _vitest_config(file: Path) -> bool:
    """Whether the vite.config beside the framework's is Vitest's (`vitest/config`, a `test`
    key): Vitest reads it, so wsside() there is not a stray copy."""
    text = file.read_text(encoding="utf-8", errors="replace")
    return "vitest/config" in text or re.search(r"^\s*test\s*:", text, re.M) is not None
