"""The YAML-parsing helpers both configuration parsers share (``monitoring.yml`` in :mod:`monitoring.config`, its
``alerts:`` section in :mod:`monitoring.alerts.config`): reading the file strictly, and checks whose errors name the
key path and the bad value (``flows[1].deadline: '25:00' is not a time HH:MM``), with a "did you mean" for an unknown
key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration problem, worded for the person who wrote the file."""


MAX_SHOWN = 200  # characters of a bad value quoted in an error (YAML aliases can expand a line into megabytes)


def fail(path: str, value: Any, problem: str) -> ConfigError:
    """``path: 'value' problem``, the value quoted and cut short."""
    shown = repr(value)
    if len(shown) > MAX_SHOWN:
        shown = shown[:MAX_SHOWN] + "..."
    return ConfigError(f"{path}: {shown} {problem}")


def check_keys(mapping: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
    """An unknown key is an error (a typo must not silently disable a rule), with the nearest allowed key."""
    for key in mapping:
        if key not in allowed:
            near = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else f" (allowed: {', '.join(allowed)})"
            where = f"{path}.{key}" if path else str(key)
            raise ConfigError(f"{where}: unknown key{hint}")


def as_mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(path, value, "is not a mapping")
    return value


def as_text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(path, value, "is not a non-empty string")
    return value.strip()


def time_of_day(value: Any, path: str) -> time | None:
    """``"HH:MM"`` -> a time; None stays None (no deadline)."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 01:30 as the sexagesimal number 90.
        raise fail(path, value, 'is not a time HH:MM (write it quoted, e.g. "01:30")')
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if not isinstance(value, str) or not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise fail(path, value, "is not a time HH:MM")
    return time(int(match[1]), int(match[2]))


def choice(mapping: Mapping[str, Any], key: str, choices: tuple[str, ...], path: str) -> str:
    """``mapping[key]``, one of ``choices``; the first when the key is absent."""
    value = mapping.get(key, choices[0])
    if value not in choices:
        raise fail(f"{path}.{key}", value, f"is not one of {' | '.join(choices)}")
    return value


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice: YAML would silently keep only the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, list | dict):
                problem = f"a key is a list or a mapping (line {line})"
                raise yaml.constructor.ConstructorError(None, None, problem, key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (line {line})", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path) -> Any:
    """The YAML document of a file, read strictly (a key given twice is an error); errors name the file and line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{file}: cannot be read ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{file}: is not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    try:
        raw = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = f": {error.problem}" if getattr(error, "problem", None) else ""
        raise ConfigError(f"{file}: not valid YAML{where}{problem}") from None
    except RecursionError:
        raise ConfigError(f"{file}: nested too deeply to be a monitoring.yml") from None
    return raw
