"""`wsside doctor`: checks a Vite + wsside project and says what to fix.

`CHECKS` lists the checks in the order they are shown: Python side first (what the sidecar
needs), then Node and Vite, then the running processes and the live dev server.
`SERVE_CHECKS` (`--serve`) are those of a production `wsside serve`: the Python side, then
the engines (WSSIDE_LOOP, WSSIDE_JSON), workers, backplane, origins and error frames. Each check
is a function of a `Project` returning one `Check` or several; `run_checks` keeps a crashing
check from hiding the others. `checks_for` picks the list: run in a folder above the Vite
project (none here, one below), only the checks that do not need the project run, and the
vite.config check says once where the project is.
"""

from __future__ import annotations

from .checks_handlers import (
    check_config,
    check_handler_files,
    check_handlers_folder,
    check_patterns,
)
from .checks_live import check_dev_server, check_live_handshakes
from .checks_node import check_node, check_shim, check_vite, check_vite_config_uses_plugin
from .checks_process import check_sidecar_processes
from .checks_python import check_interpreter, check_packages, check_python
from .checks_serve import (
    check_backplane_reachable,
    check_engines,
    check_error_details,
    check_heartbeat,
    check_origins,
    check_vite_project,
    check_workers,
)
from .checks_types import check_generated_types, check_types_file
from .checks_vite import (
    check_client_prefix,
    check_exposure,
    check_forwarding,
    check_hmr_path,
    check_middleware_mode,
    check_proxy,
)
from .model import Check, CheckFn, Status, run_checks, worst
from .project import Project

__all__ = [
    "CHECKS",
    "SERVE_CHECKS",
    "WITHOUT_VITE",
    "Check",
    "CheckFn",
    "Project",
    "Status",
    "checks_for",
    "run_checks",
    "worst",
]

# What the handlers need, under Vite and under `wsside serve` alike.
_PYTHON_SIDE: tuple[CheckFn, ...] = (
    check_python,
    check_packages,
    check_config,
    check_handlers_folder,
    check_handler_files,
    check_patterns,
)

CHECKS: tuple[CheckFn, ...] = (
    *_PYTHON_SIDE,
    check_interpreter,
    check_node,
    check_vite,
    check_shim,
    check_vite_config_uses_plugin,
    check_types_file,
    check_generated_types,
    check_hmr_path,
    check_proxy,
    check_client_prefix,
    check_exposure,
    check_middleware_mode,
    check_forwarding,
    check_sidecar_processes,
    check_dev_server,
    check_live_handshakes,
)

SERVE_CHECKS: tuple[CheckFn, ...] = (
    *_PYTHON_SIDE,
    check_engines,
    check_workers,
    check_backplane_reachable,
    check_origins,
    check_error_details,
    check_heartbeat,
)

# Plain `wsside doctor` in a folder of handler files that is no Vite project (nor in or above
# one): its handlers run in `wsside serve`, so `--serve`'s checks, after a row that says so.
WITHOUT_VITE: tuple[CheckFn, ...] = (check_vite_project, *SERVE_CHECKS)

# In a folder above the Vite project: what does not depend on the project, and the check that
# names the project below (the others would only ask to install Vite or create ws/ here).
ABOVE_THE_PROJECT: tuple[CheckFn, ...] = (
    check_python,
    check_packages,
    check_node,
    check_vite_config_uses_plugin,
)


def checks_for(project: Project) -> tuple[CheckFn, ...]:
    """The checks to run for `project`: `SERVE_CHECKS` with `serve` (`WITHOUT_VITE` when the
    doctor chose it, the folder being no Vite project); `ABOVE_THE_PROJECT` when its folder has
    no Vite config but holds a Vite project below; else `CHECKS`."""
    if project.serve:
        return WITHOUT_VITE if project.without_vite else SERVE_CHECKS
    return ABOVE_THE_PROJECT if project.projects_below else CHECKS
