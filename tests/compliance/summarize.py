"""Read Autobahn `index.json` reports: per-group table, gate, and case-by-case comparison.

    python3 summarize.py --expect N REPORT_DIR... [--compare OTHER_DIR...]

Several directories (one per wstest process of a split run) are merged. N is the number of
cases the run asked for (run.sh resolves its case patterns with wstest's own code): a report
with fewer (a wstest that died part way, a missing index.json) fails, whatever its verdicts.

Exit status: 1 if the report has not N cases, or any case is FAILED or NON-STRICT (or, with
--compare, any verdict differs), else 0; 2 for bad arguments. `wstest` itself exits 0
whatever the verdicts, so this is the gate.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

VERDICTS = ("OK", "NON-STRICT", "FAILED", "UNIMPLEMENTED", "INFORMATIONAL")
BAD = ("FAILED", "NON-STRICT")


def load(report_dirs: list[str]) -> dict[str, dict]:
    """Cases of every agent in each report_dir/index.json, merged, by case id; a missing
    index.json is said in one line and counts as no cases."""
    cases: dict[str, dict] = {}
    for report_dir in report_dirs:
        path = Path(report_dir) / "index.json"
        if not path.is_file():
            print(f"{path}: missing (see {report_dir}.log)")
            continue
        index = json.loads(path.read_text())
        for agent_cases in index.values():
            cases.update(agent_cases)
    return cases


def key(case_id: str) -> tuple[int, ...]:
    return tuple(int(x) for x in case_id.split("."))


def table(cases: dict[str, dict]) -> str:
    groups: dict[int, Counter] = defaultdict(Counter)
    for case_id, result in cases.items():
        groups[key(case_id)[0]][result["behavior"]] += 1
    head = "| group | cases | " + " | ".join(VERDICTS) + " |"
    lines = [head, "|" + "---|" * (len(VERDICTS) + 2)]
    total: Counter = Counter()
    for group in sorted(groups):
        counts = groups[group]
        total.update(counts)
        cells = " | ".join(str(counts[v]) for v in VERDICTS)
        lines.append(f"| {group}.* | {sum(counts.values())} | {cells} |")
    cells = " | ".join(str(total[v]) for v in VERDICTS)
    lines.append(f"| total | {sum(total.values())} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[0] != "--expect" or not argv[1].isdigit():
        print("usage: summarize.py --expect N REPORT_DIR... [--compare OTHER_DIR...]")
        return 2
    expected, argv = int(argv[1]), argv[2:]
    mine, theirs = argv, []
    if "--compare" in argv:
        at = argv.index("--compare")
        mine, theirs = argv[:at], argv[at + 1 :]
    cases = load(mine)
    print(table(cases))
    counts = Counter(r["behavior"] for r in cases.values())
    print(f"FAILED: {counts['FAILED']}  NON-STRICT: {counts['NON-STRICT']}")
    bad = sorted((c for c, r in cases.items() if r["behavior"] in BAD), key=key)
    for case_id in bad:
        r = cases[case_id]
        print(f"  {case_id}: {r['behavior']} / {r['behaviorClose']} (close {r['remoteCloseCode']})")
    status = 1 if bad else 0
    if len(cases) != expected:
        print(f"CASES: {len(cases)} in the report, the run asked for {expected}")
        status = 1
    if theirs:
        other = load(theirs)
        fields = ("behavior", "behaviorClose", "remoteCloseCode")
        differ = sorted(
            (
                c
                for c in set(cases) | set(other)
                if c not in cases
                or c not in other
                or any(cases[c].get(f) != other[c].get(f) for f in fields)
            ),
            key=key,
        )
        print(f"verdicts differing between the two runs: {len(differ)} of {len(cases)}")
        for case_id in differ:
            a, b = cases.get(case_id, {}), other.get(case_id, {})
            print(f"  {case_id}: {[a.get(f) for f in fields]} vs {[b.get(f) for f in fields]}")
        status = status or (1 if differ else 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
