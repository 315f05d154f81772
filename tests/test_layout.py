"""The README's "Project layout" table names every module under src/monitoring/ once, and nothing that is gone."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath

from support import REPO

SRC = PurePosixPath("src/monitoring")


def layout_rows() -> list[list[str]]:
    """The table's rows, as their cells."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Project layout", 1)[1]
    return [line.strip("|").split(" | ") for line in section.splitlines() if line.startswith("| `")]


def modules_named(row: list[str]) -> list[PurePosixPath]:
    """The .py files a row names: a bare name is in the folder of the row's first path."""
    first = PurePosixPath(re.findall(r"`([^`]+)`", row[0])[0])
    folder = first if row[0].split("`")[1].endswith("/") else first.parent
    named = re.findall(r"`([\w./]+\.py)`", " ".join(row))
    return [PurePosixPath(name) if "/" in name else folder / name for name in named]


def test_the_layout_table_names_every_module_once():
    named = Counter(path for row in layout_rows() for path in modules_named(row) if SRC in path.parents)
    modules = {
        PurePosixPath(path.relative_to(REPO).as_posix())
        for path in (REPO / SRC).rglob("*.py")
        if path.name != "__init__.py"
    }
    assert sorted(modules - set(named)) == [], "modules the README's layout table does not name"
    assert sorted(set(named) - modules) == [], "modules the README's layout table names that do not exist"
    assert [path for path, count in named.items() if count > 1] == [], "named more than once"
