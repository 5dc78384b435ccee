"""Just enough semver to read `engines` and `peerDependencies` ranges from package.json, and
the release line of a version of either package (semver or PEP 440).

Supports `||`, space-joined comparators (`>=`, `>`, `<=`, `<`, `=`), caret, tilde and x-ranges
(`5`, `5.x`, `*`). A range it cannot read is reported as None ("unknown"), never guessed.
"""

from __future__ import annotations

import re

__all__ = ["is_prerelease", "parse", "release_line", "satisfies"]

Version = tuple[int, int, int]
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?(?:[-+].*)?$")
# What the plugin reads as the release line (lib/protocol.js, `releaseLine`): whatever follows
# major.minor.patch, a semver tag (`-rc.1`) or a PEP 440 one (`rc1`, `.post1`, `.dev0`).
_RELEASE_LINE = re.compile(r"(\d+)\.(\d+)\.")
# A pre-release or development release: semver's `-tag`, PEP 440's `a1`, `b1`, `rc1`, `.dev0`.
_PRERELEASE = re.compile(r"\d+\.\d+\.\d+(?:-|(?:a|b|rc)\d|.*\.dev\d*$)")


def parse(text: str) -> Version | None:
    """`8.3.8` -> (8, 3, 8); pre-release and build tags are ignored."""
    m = _VERSION.match(text.strip())
    if m is None or any(p in ("x", "*") for p in m.groups() if p):
        return None
    major, minor, patch = (int(p or 0) for p in m.groups())
    return major, minor, patch


def release_line(version: str) -> tuple[int, int] | None:
    """The release line (major, minor) of a version of either package, as the plugin reads
    it: `0.1.0`, `0.1.0.post1`, `0.1.0-rc.1` -> (0, 1); None when it does not start with
    major.minor.patch."""
    m = _RELEASE_LINE.match(version.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def is_prerelease(version: str) -> bool:
    """Whether a version of either package is a pre-release or development release
    (`0.2.0-rc.1`, `0.2.0rc1`, `0.2.0.dev0`): its line may have no final release yet."""
    return _PRERELEASE.match(version.strip()) is not None


def _bounds(op: str, text: str) -> list[tuple[str, Version]] | None:
    """The comparator list one range term means; None when unreadable."""
    if text in ("*", "x", ""):
        return []
    m = _VERSION.match(text)
    if m is None:
        return None
    parts = [None if p in (None, "x", "*") else int(p) for p in m.groups()]
    major, minor, patch = parts
    assert major is not None
    low: Version = (major, minor or 0, patch or 0)
    if op == "^":
        high = (
            (major + 1, 0, 0)
            if major
            else (0, (minor or 0) + 1, 0)
            if minor
            else (0, 0, (patch or 0) + 1)
        )
        return [(">=", low), ("<", high)]
    if op == "~" or (op in ("", "=") and patch is None):
        high = (major, minor + 1, 0) if minor is not None else (major + 1, 0, 0)
        return [(">=", low), ("<", high)]
    return [(op or "=", low)]


def satisfies(version: str, spec: str) -> bool | None:
    """Whether `version` is in the npm range `spec`; None when either cannot be read."""
    have = parse(version)
    if have is None:
        return None
    for alternative in spec.split("||"):
        comparators: list[tuple[str, Version]] = []
        for term in re.findall(r"(>=|<=|>|<|=|\^|~)?\s*([^\s<>=^~]+)", alternative):
            bounds = _bounds(*term)
            if bounds is None:
                return None
            comparators.extend(bounds)
        if all(_compare(have, op, v) for op, v in comparators):
            return True
    return False


def _compare(have: Version, op: str, want: Version) -> bool:
    return {
        ">=": have >= want,
        ">": have > want,
        "<=": have <= want,
        "<": have < want,
        "=": have == want,
    }[op]
