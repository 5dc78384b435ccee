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
            name, f"{state.problem}, so whether it includes {state.entry} is unknown", state.advice
        )
    # The `include` in effect may be inherited through `extends` (SvelteKit's, say).
    through = "" if state.base is None else f" (through {project.relative(state.base)})"
    if not state.included:
        return warned(
            name,
            f"{where}{through} does not include {state.entry}: the editor and tsc do not see "
            f"the types of {', '.join(typed)}",
            state.advice + ("   (or run wsside init)" if state.editable else ""),
        )
    return passed(name, f"{where}{through} includes {state.entry} ({len(typed)} typed endpoint(s))")
