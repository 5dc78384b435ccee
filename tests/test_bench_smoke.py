"""The benchmark harness keeps working: `bench/run.py --quick` against real processes (a real
`wsside serve`, real Vite dev servers with the shim, the pipe over HTTPS, Vite's proxy and
the pure-Node reference) produces its table with every variant measured, and the JSON echo
workloads for the variants they run on; `bench/handshake_split.py` shows a row per variant
with each of its server processes; `bench/sighup.py` counts what each attempt ended in.

Only that figures were produced is checked, never how fast: timing belongs to `make bench`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "bench" / "run.py"
VARIANTS = ("direct", "handover", "pipe", "proxy", "node")
LABELS = (
    "(1) wsside serve",
    "(2) Vite + wsside, hand-over",
    "(3) Vite + wsside, pipe (HTTPS)",
    "(4) Vite server.proxy → wsside",
    "(5) Vite + ws (pure Node)",
)
# One figure per workload that every variant must have measured, and above zero. (CPU
# figures are left out: /proc counts in 10 ms ticks, which a quick run may not reach.)
FIGURES = ("lat_p50", "lat_p99", "tput", "bcast", "hs", "mem_total", "mem_settled_total")
# The JSON echo (json-latency, json-throughput) runs for these variants only.
JSON_VARIANTS = ("direct", "handover", "node")
JSON_FIGURES = ("jlat_p50", "jlat_p99", "jtput")


@pytest.mark.slow
def test_quick_bench_measures_every_variant(tmp_path: Path) -> None:
    for tool in ("node", "npm", "openssl"):
        assert shutil.which(tool), f"the benchmark needs {tool}"
    out = tmp_path / "quick.md"
    done = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    printed = done.stdout
    assert printed.strip() == out.read_text().strip()
    header = next(line for line in printed.splitlines() if line.startswith("| Metric"))
    for label in LABELS:
        assert label in header
    for ratio in ("handover/direct", "pipe/direct", "proxy/direct", "node/direct"):
        assert ratio in header
    assert "## Targets" in printed
    assert "## Against pure Node (issue 19)" in printed
    assert "JSON echo throughput, round trips/s" in printed
    assert "- Sidecar: event loop " in printed

    raw = json.loads(out.with_suffix(".raw.json").read_text())["raw"]
    for variant in VARIANTS:
        for figure in FIGURES:
            values = raw[variant].get(figure)
            assert values and all(v > 0 for v in values), f"{variant} {figure}: {values}"
        for figure in JSON_FIGURES:
            values = raw[variant].get(figure)
            if variant in JSON_VARIANTS:
                assert values and all(v > 0 for v in values), f"{variant} {figure}: {values}"
            else:
                assert values is None, f"{variant} {figure} measured: {values}"


def test_a_new_results_file_numbers_after_the_days_last_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    assert spec is not None and spec.loader is not None
    run = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, run)  # its dataclasses look themselves up there
    spec.loader.exec_module(run)
    monkeypatch.setattr(run, "BENCH", tmp_path)
    results = tmp_path / "results"
    results.mkdir()
    day = datetime.date(2026, 12, 3)
    assert run.fresh_results_path(day) == results / "2026-12-03.md"
    for name in ("2026-12-03-2.md", "2026-12-03-4.md", "2026-12-03-cluster.md", "2026-12-02-9.md"):
        (results / name).write_text("")
    # Numbered after the highest run of the day, even with no plain <day>.md.
    assert run.fresh_results_path(day) == results / "2026-12-03-5.md"


@pytest.mark.slow
def test_handshake_split_measures_each_process_of_each_variant() -> None:
    split = ROOT / "bench" / "handshake_split.py"
    done = subprocess.run(
        [sys.executable, str(split), "--rounds", "1", "--count", "300"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[2:]}
    assert sorted(rows) == ["direct", "handover", "node"]
    # variant, rate, then per process "user + system" or "–", then the total.
    pattern = r"(\w+) +([\d,]+) +(\d+ \+ +\d+|–) +(\d+ \+ +\d+|–) +(\d+)$"
    cells = {name: re.fullmatch(pattern, row) for name, row in rows.items()}
    assert all(cells.values()), done.stdout
    shown = {name: (m[3] != "–", m[4] != "–") for name, m in cells.items() if m}
    assert shown == {"direct": (False, True), "handover": (True, True), "node": (True, False)}
    for m in cells.values():
        assert m and int(m[2].replace(",", "")) > 0 and int(m[5]) > 0, done.stdout


@pytest.mark.slow
def test_sighup_counts_what_each_attempt_ended_in() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sighup.py"), "--clients", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    head, ended = done.stdout.splitlines()
    assert re.fullmatch(r"4 clients, [\d,]+ handshakes/s before; the roll took [\d.]+ s", head)
    counts = json.loads(ended.removeprefix("  ended: ").replace("'", '"'))
    assert counts["ok"] > 0, done.stdout
