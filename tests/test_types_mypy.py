"""The package's types as handler code meets them, under mypy --strict (the package ships
`py.typed`): `tests/types/python/right.py`, written as the README shows and fully annotated,
and `documented.py`, docs/types.md's annotated handler word for word, have no error;
`tests/types/python/wrong.py` has an error on exactly the lines marked `# E: <code>`: a
callback's wrong signature, a value `send` cannot send, a wrong call of a function each
decorator returned (which an `Any` from the decorator would let through), and in a handler
annotated with its TypedDicts, a wrong key read and a message missing a key.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "tests" / "types" / "python"
# Handler files may use what Python 3.11 has (typing.NotRequired), whatever the package's floor.
MYPY = [sys.executable, "-m", "mypy", "--strict", "--python-version", "3.11", "--no-pretty"]


def mypy(*args: str) -> tuple[int, str]:
    done = subprocess.run([*MYPY, *args], cwd=REPO, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


def test_documented_handler_code_type_checks() -> None:
    code, out = mypy(str(SAMPLES / "right.py"), str(SAMPLES / "documented.py"))
    assert code == 0, out


def test_the_annotated_handler_of_docs_types_md_is_the_one_checked() -> None:
    doc = (REPO / "docs" / "types.md").read_text(encoding="utf-8")
    example = doc.split("```python\n", 1)[1].split("```", 1)[0]
    assert "async def message(conn: Connection, data: ChatIn | Typing) -> None:" in example
    assert example in (SAMPLES / "documented.py").read_text(encoding="utf-8")


def test_mistakes_are_type_errors_on_the_lines_that_make_them() -> None:
    sample = SAMPLES / "wrong.py"
    expected = {
        (number, marked.group(1))
        for number, line in enumerate(sample.read_text().splitlines(), 1)
        if (marked := re.search(r"# E: ([a-z-]+)", line))
    }
    code, out = mypy(str(sample))
    found = {
        (int(m.group(1)), m.group(2))
        for m in re.finditer(r"^[^:\n]*wrong\.py:(\d+): error: .*\[([a-z-]+)\]$", out, re.M)
    }
    assert code == 1, out
    assert found == expected, out
