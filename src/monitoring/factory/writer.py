"""The commented ``monitoring.yml`` of a derivation, merged with an existing file on re-import.

Derived keys follow the factory: ``timezone``, and each flow's ``pipelines`` (members, ``depends_on``, a member's
``schedule``), ``schedule`` and ``order``. Every other key is the user's and is kept: flow names, ``deadline``,
``duration``, ``ko_when``, ``day_starts_at``, and the top-level sections (``source``, ``storage``, ``defaults``,
``alerts``...), which are copied as written, comments included. A flow keeps its identity through its master: the
old flow that lists a derived master is that master's flow, whatever it is called.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from monitoring.config import Config, ConfigError, parse_config
from monitoring.factory.derive import Derivation, DerivedFlow, DerivedMember

DERIVED_FLOW_KEYS = ("pipelines", "schedule", "order")
DERIVED_PIPELINE_KEYS = ("name", "depends_on", "schedule")
DERIVED_TOP_KEYS = ("timezone", "flows")
FRESH_SECTIONS = """source:
  format: adf_diagnostic        # adf_diagnostic | log_analytics | adf_rest_api | csv
  path: ./logs
  # factory: {source}   # the nightly job then writes what drifts to gold/config_drift

storage:
  root: ./lakehouse
"""
NOT_MONITORED = "# Not monitored:"
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./+\-]*")


@dataclass(frozen=True)
class ImportResult:
    text: str
    config: Config
    changes: tuple[str, ...]  # each derived value the import changed (empty for a new file)


def _scalar(value: str) -> str:
    """A YAML scalar: plain when YAML reads it back as the same string, else JSON-quoted (valid YAML)."""
    if _PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    return " ".join(text.split())  # names come from the factory: never let one open a new YAML line


def _dump(key: str, value: Any, indent: str) -> list[str]:
    """``key: value`` on one line, the value in YAML's flow style (a hand-set key, as the parser reads it back)."""
    if isinstance(value, str):  # quoted unless plainly a word: a time "01:30" stays a string for every YAML reader
        return [f"{indent}{_scalar(key)}: {_scalar(value)}"]
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10**6)
    value_text = text.removesuffix("...\n").strip()  # a lone scalar is dumped as a document with an end marker
    return [f"{indent}{_scalar(key)}: {value_text}"]


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """The top-level sections of a YAML mapping document, as written (with the comment lines just above each)."""
    lines = text.splitlines()
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    starts = []
    for key_node, _ in root.value:
        line = key_node.start_mark.line
        while line > 0 and lines[line - 1].lstrip().startswith("#"):
            line -= 1
        starts.append((str(key_node.value), line))
    sections = []
    for index, (key, start) in enumerate(starts):
        end = starts[index + 1][1] if index + 1 < len(starts) else len(lines)
        body = lines[start:end]
        cut = next((i for i, line in enumerate(body) if line.startswith(NOT_MONITORED)), None)
        body = body[:cut] if cut is not None else body  # the block a previous import wrote: written anew
        while body and not body[-1].strip():
            body.pop()
        sections.append((key, body))
    return sections


def _entries(flow: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [{"name": e} if isinstance(e, str) else dict(e) for e in flow.get("pipelines") or []]


def _old_flows_by_master(old: Mapping[str, Any], derivation: Derivation) -> dict[str, Mapping[str, Any]]:
    masters = {flow.master for flow in derivation.flows}
    found: dict[str, Mapping[str, Any]] = {}
    for flow in old.get("flows") or []:
        if not isinstance(flow, Mapping):
            continue
        names = [e.get("name") for e in _entries(flow)]
        master = next((n for n in names if n in masters), None)
        if master is None and flow.get("name") in masters:
            master = flow["name"]
        if master is not None:
            found.setdefault(master, flow)
    return found


def _member_lines(member: DerivedMember, kept: Mapping[str, Any]) -> list[str]:
    indent = " " * 6
    lines = [f"{indent}# {_comment(note)}" for note in member.notes]
    if not member.depends_on and not member.on_demand_because and not kept:
        return [*lines, f"{indent}- {_scalar(member.name)}"]
    lines.append(f"{indent}- name: {_scalar(member.name)}")
    inner = " " * 8
    if member.depends_on:
        lines.append(f"{inner}depends_on: [{', '.join(_scalar(d) for d in member.depends_on)}]")
    if member.on_demand_because:
        lines.append(f"{inner}schedule: on_demand   # {_comment(member.on_demand_because)}: never MISSING")
    for key, value in kept.items():
        lines += _dump(key, value, inner)
    return lines


def _flow_lines(flow: DerivedFlow, old_flow: Mapping[str, Any] | None, old_pipelines: Mapping[str, Any]) -> list[str]:
    lines = [f"  # {_comment(note)}" for note in flow.notes]
    name = old_flow.get("name") if old_flow and isinstance(old_flow.get("name"), str) else flow.master
    lines.append(f"  - name: {_scalar(name)}")
    for key, value in (old_flow or {}).items():
        if key != "name" and key not in DERIVED_FLOW_KEYS:
            lines += _dump(key, value, "    ")
    if flow.schedule.kind == "on_demand":
        lines.append("    schedule: on_demand   # never MISSING: see the trigger above")
    else:
        lines.append(f"    schedule: {_scalar(flow.schedule.text)}")
    lines.append("    pipelines:")
    for member in flow.members:
        entry = old_pipelines.get(member.name) or {}
        kept = {k: v for k, v in entry.items() if k not in DERIVED_PIPELINE_KEYS}
        lines += _member_lines(member, kept)
    return lines


def render(derivation: Derivation, existing: str | None = None) -> str:
    """The ``monitoring.yml`` text of ``derivation``, keeping the hand-set keys of ``existing`` (a file's text)."""
    old: Mapping[str, Any] = (yaml.safe_load(existing) if existing else None) or {}
    factory = derivation.factory
    lines = [
        f"# Flows of Data Factory {_comment(factory.name)}, read from {_comment(factory.source)} by"
        " `pipeline-monitor import-factory`.",
        "# Derived from the factory, rewritten by the next import: timezone, and each flow's schedule and pipelines",
        "# (members, depends_on, a member's schedule). Set by hand and kept by the next import: flow names, deadline,",
        "# duration, ko_when, day_starts_at, and the sections below (source, storage, defaults, alerts, ...).",
        "# What is and is not derived: docs/factory.md.",
    ]
    zone = derivation.timezone or old.get("timezone") or "Europe/Paris"
    zone_note = "  # from the triggers' timeZone (Windows names mapped by CLDR's table)" if derivation.timezone else ""
    lines += [f"timezone: {_scalar(str(zone))}{zone_note}", ""]
    sections = _sections(existing) if existing else []
    before = [body for key, body in sections if key not in DERIVED_TOP_KEYS and _before_flows(sections, key)]
    after = [body for key, body in sections if key not in DERIVED_TOP_KEYS and not _before_flows(sections, key)]
    if not sections:
        before = [FRESH_SECTIONS.format(source=_comment(factory.source)).rstrip("\n").splitlines()]
    for body in before:
        lines += [*body, ""]
    lines += [f"# {_comment(note)}" for note in derivation.notes]
    lines.append("flows:")
    old_flows = _old_flows_by_master(old, derivation)
    old_pipelines = {
        e["name"]: e for flow in old.get("flows") or [] if isinstance(flow, Mapping) for e in _entries(flow)
    }
    for flow in derivation.flows:
        lines += [*_flow_lines(flow, old_flows.get(flow.master), old_pipelines), ""]
    for body in after:
        lines += [*body, ""]
    if derivation.not_monitored:
        lines.append(f"{NOT_MONITORED} in the factory, but in no flow above.")
        lines += [f"#   {_comment(n.pipeline)}: {_comment(n.why)}" for n in derivation.not_monitored]
    return "\n".join(lines).rstrip("\n") + "\n"


def _before_flows(sections: Sequence[tuple[str, list[str]]], key: str) -> bool:
    keys = [k for k, _ in sections]
    return "flows" not in keys or keys.index(key) < keys.index("flows")


def changes(old: Config, new: Config) -> list[str]:
    """Each derived value that differs between two configurations, one line each."""
    lines = []
    if old.timezone != new.timezone:
        lines.append(f"timezone: {old.timezone} -> {new.timezone}")
    old_flows = {f.name: f for f in old.flows}
    for flow in new.flows:
        before = old_flows.pop(flow.name, None)
        if before is None:
            lines.append(f"flow {flow.name}: new, {', '.join(p.name for p in flow.pipelines)}")
            continue
        old_rules = {p.name: p for p in before.pipelines}
        for rule in flow.pipelines:
            was = old_rules.pop(rule.name, None)
            if was is None:
                lines.append(f"flow {flow.name}: + {rule.name} ({rule.schedule.text})")
                continue
            if was.schedule != rule.schedule:
                lines.append(f"flow {flow.name}: {rule.name} schedule {was.schedule.text} -> {rule.schedule.text}")
            # What it follows, whether written as depends_on or implied by a sequential order (its chain).
            if set(was.predecessors) != set(rule.predecessors):
                lines.append(
                    f"flow {flow.name}: {rule.name} depends_on [{', '.join(sorted(was.predecessors))}]"
                    f" -> [{', '.join(sorted(rule.predecessors))}]"
                )
        lines += [f"flow {flow.name}: - {name} (no longer run by its master)" for name in old_rules]
        if before.order != flow.order:
            lines.append(f"flow {flow.name}: order {before.order} -> depends_on from the factory")
    lines += [f"flow {name}: removed (its master is no longer started by a started trigger)" for name in old_flows]
    return lines


def import_config(derivation: Derivation, existing: str | None = None) -> ImportResult:
    """The new file's text, checked by the config parser, and what it changes in ``existing``."""
    text = render(derivation, existing)
    try:
        config = parse_config(yaml.safe_load(text))
    except ConfigError as error:
        raise ConfigError(f"the imported configuration would not load ({error}); nothing was written") from None
    found = []
    if existing:
        found = changes(parse_config(yaml.safe_load(existing)), config)
    return ImportResult(text, config, tuple(found))
