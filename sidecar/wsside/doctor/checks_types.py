"""Message types: a TypeScript project whose tsconfig does not include `wsside-env.d.ts`
type-checks the page without the handlers' `receives`/`sends`."""

from __future__ import annotations

from .._runtime.tsconfig import inclusion
from .model import Check, passed, warned
from .project import Project

__all__ = ["check_types_file"]


def check_types_file(project: Project) -> Check:
    name = "message types"
    state = inclusion(project.root)
    if state.config is None:
        return passed(name, "not a TypeScript project (no tsconfig.json)")
    where = project.relative(state.config)
    typed = [
        h.pattern.source
        for result in project.loaded
        for h in result.handlers
        if h.receives is not None or h.sends is not None
    ]
    if not typed:
        return passed(name, "no handler declares receives= or sends=")
    if state.included is None:
        return warned(
            name,
            f"{state.problem}, so whether it includes {state.entry} is unknown",
            f'fix {where}, then list {state.entry} in its "include"',
        )
    if not state.included:
        return warned(
            name,
            f"{where} does not include {state.entry}: the editor and tsc do not see the "
            f"types of {', '.join(typed)}",
            f"in {where}: {state.line}   (or run wsside init)",
        )
    return passed(name, f"{where} includes {state.entry} ({len(typed)} typed endpoint(s))")
