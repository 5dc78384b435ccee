"""The record every doctor check returns, and the runner that keeps one check's crash local.

A check is a plain function of the `Project` returning one `Check` or several (one per handler
file, one per endpoint). The runner never lets an exception escape: a check that raises becomes
a `warn` naming the check, so one broken probe cannot hide the others' answers.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .project import Project

__all__ = ["Check", "CheckFn", "Status", "failed", "passed", "run_checks", "warned", "worst"]

Status = Literal["pass", "warn", "fail"]
_RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Check:
    """One finding: `name` (what was checked), `status`, `message` (what was found) and `fix`
    (one line saying what to do; empty for a pass)."""

    name: str
    status: Status
    message: str
    fix: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def passed(name: str, message: str) -> Check:
    return Check(name, "pass", message)


def warned(name: str, message: str, fix: str) -> Check:
    return Check(name, "warn", message, fix)


def failed(name: str, message: str, fix: str) -> Check:
    return Check(name, "fail", message, fix)


CheckFn = Callable[["Project"], Check | Iterable[Check]]


def run_checks(
    project: Project,
    checks: Sequence[CheckFn],
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Check]:
    """Run each check in order, first telling `progress` its name, its number and how many
    there are; a check that raises is reported as a warning, not a traceback."""
    results: list[Check] = []
    for index, fn in enumerate(checks, 1):
        name = fn.__name__.removeprefix("check_").replace("_", " ")
        if progress is not None:
            progress(name, index, len(checks))
        try:
            outcome = fn(project)
            results.extend([outcome] if isinstance(outcome, Check) else list(outcome))
        except Exception as exc:  # noqa: BLE001 - the point of the runner
            where = traceback.extract_tb(exc.__traceback__)[-1]
            results.append(
                warned(
                    name,
                    f"the check itself crashed: {type(exc).__name__}: {exc} "
                    f"({where.filename}:{where.lineno})",
                    "report this as a wsside bug; the other checks are unaffected",
                )
            )
    return results


def worst(results: Iterable[Check]) -> Status:
    """The most severe status among `results` (`pass` when empty)."""
    status: Status = "pass"
    for r in results:
        if _RANK[r.status] > _RANK[status]:
            status = r.status
    return status
