"""The house's size at a glance: the longest functions under src/ (by source lines, nested ones counted apart).

`make house` prints this, then the duplicated blocks (`duplicates --most 20`, where that command is installed).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MOST = 10


def function_lengths(root: Path) -> list[tuple[int, str]]:
    """(lines, 'path:line name') of every function and method under root, longest first."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                found.append((lines, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}"))
    return sorted(found, key=lambda item: (-item[0], item[1]))


def main() -> int:
    src = ROOT / "src"
    modules = sorted(src.rglob("*.py"))
    total = sum(len(path.read_text(encoding="utf-8").splitlines()) for path in modules)
    print(f"{len(modules)} modules, {total} lines under src/; the {MOST} longest functions:")
    for lines, where in function_lengths(src)[:MOST]:
        print(f"{lines:5d}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
