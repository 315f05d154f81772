"""A factory's pipelines and triggers, read from where its definitions are kept.

SOURCE is one of:

- a folder of ADF's git integration: ``pipeline/*.json``, ``trigger/*.json``, ``factory/*.json``, one resource a
  file as ``{"name": ..., "properties": {...}}``;
- an ARM template export, ``ARMTemplateForFactory.json`` (or the folder holding it): ``resources`` of type
  ``Microsoft.DataFactory/factories/pipelines`` and ``.../triggers``, named ``[concat(parameters('factoryName'),
  '/NAME')]``; ``[parameters('x')]`` values are resolved from ``ARMTemplateParametersForFactory.json`` beside it,
  else from the template's defaults;
- ``/subscriptions/.../factories/NAME``: the live factory (:mod:`monitoring.factory.live`).

Everything else in the factory (datasets, linked services, data flows) is not read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

ARM_TEMPLATE = "ARMTemplateForFactory.json"
ARM_PARAMETERS = "ARMTemplateParametersForFactory.json"
LIVE_PREFIX = "/subscriptions/"


class FactoryError(ValueError):
    """The factory's definitions could not be read; the message names the file or resource."""


@dataclass(frozen=True)
class Trigger:
    name: str
    type: str  # ScheduleTrigger, TumblingWindowTrigger, BlobEventsTrigger, ...
    started: bool  # runtimeState "Started"
    pipelines: tuple[str, ...]  # the pipelines it starts, in its own order
    # ScheduleTrigger: typeProperties.recurrence; TumblingWindowTrigger: typeProperties (frequency, interval...)
    recurrence: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)


@dataclass(frozen=True)
class FactoryDefinitions:
    name: str  # the factory's name
    source: str  # where it was read, for the generated file's header and messages
    pipelines: Mapping[str, Mapping[str, Any]] = field(hash=False)  # pipeline name -> its ``properties``
    triggers: tuple[Trigger, ...] = ()


def trigger_from_resource(name: str, properties: Mapping[str, Any], where: str) -> Trigger:
    """A trigger from its ``properties`` (the same shape in git, ARM and the REST API)."""
    if not isinstance(properties, Mapping):
        raise FactoryError(f"{where}: trigger {name!r} has no properties")
    references = list(properties.get("pipelines") or [])
    if isinstance(properties.get("pipeline"), Mapping):  # a tumbling-window trigger starts one pipeline
        references.append(properties["pipeline"])
    pipelines = []
    for reference in references:
        target = (reference or {}).get("pipelineReference") or {}
        if not isinstance(target.get("referenceName"), str):
            raise FactoryError(f"{where}: trigger {name!r} has a pipeline reference without a referenceName")
        pipelines.append(target["referenceName"])
    type_properties = properties.get("typeProperties") or {}
    kind = str(properties.get("type", ""))
    recurrence = type_properties.get("recurrence") if kind == "ScheduleTrigger" else type_properties
    return Trigger(
        name=name,
        type=kind,
        started=properties.get("runtimeState") == "Started",
        pipelines=tuple(dict.fromkeys(pipelines)),
        recurrence=MappingProxyType(dict(recurrence or {})),
    )


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))  # ADF Studio writes a BOM on some exports
    except OSError as error:
        raise FactoryError(f"{path}: cannot be read ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FactoryError(f"{path}: not valid JSON ({error})") from None


def _resources(folder: Path) -> list[tuple[str, Mapping[str, Any], Path]]:
    found = []
    for path in sorted(folder.glob("*.json")):
        document = _json_file(path)
        if not isinstance(document, Mapping) or not isinstance(document.get("name"), str):
            raise FactoryError(f"{path}: not an ADF resource ({{'name': ..., 'properties': ...}})")
        found.append((document["name"], document.get("properties") or {}, path))
    return found


def read_git_folder(folder: Path) -> FactoryDefinitions:
    if not (folder / "pipeline").is_dir():
        raise FactoryError(f"{folder}: no pipeline/ folder (not the root of an ADF git integration)")
    factory_files = sorted((folder / "factory").glob("*.json"))
    name = _json_file(factory_files[0]).get("name") if factory_files else None
    pipelines = {n: p for n, p, _ in _resources(folder / "pipeline")}
    triggers = tuple(trigger_from_resource(n, p, str(path)) for n, p, path in _resources(folder / "trigger"))
    return FactoryDefinitions(str(name or folder.name), str(folder), MappingProxyType(pipelines), triggers)


_PARAMETER = re.compile(r"^\[parameters\('([^']+)'\)\]$")
_CHILD_NAME = re.compile(r"'/([^']+)'\)\]$")  # [concat(parameters('factoryName'), '/NAME')]


def _resolved(value: Any, parameters: Mapping[str, Any], where: str) -> Any:
    """``value`` with every ``[parameters('x')]`` replaced by the parameter's value."""
    if isinstance(value, str):
        match = _PARAMETER.match(value)
        if match:
            if match[1] not in parameters:
                raise FactoryError(f"{where}: {value} names no parameter of the template")
            return parameters[match[1]]
        return value
    if isinstance(value, Mapping):
        return {k: _resolved(v, parameters, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, parameters, where) for v in value]
    return value


def read_arm_template(path: Path) -> FactoryDefinitions:
    template = _json_file(path)
    if not isinstance(template, Mapping) or not isinstance(template.get("resources"), list):
        raise FactoryError(f"{path}: not an ARM template (no 'resources' list)")
    parameters = {
        key: spec.get("defaultValue")
        for key, spec in (template.get("parameters") or {}).items()
        if isinstance(spec, Mapping)
    }
    parameter_file = path.with_name(ARM_PARAMETERS)
    if parameter_file.is_file():
        given = _json_file(parameter_file).get("parameters") or {}
        parameters.update({k: v.get("value") for k, v in given.items() if isinstance(v, Mapping) and "value" in v})
    pipelines: dict[str, Mapping[str, Any]] = {}
    triggers: list[Trigger] = []
    for index, resource in enumerate(template["resources"]):
        kind = str(resource.get("type", "")).lower()
        if kind not in ("microsoft.datafactory/factories/pipelines", "microsoft.datafactory/factories/triggers"):
            continue
        where = f"{path}: resources[{index}]"
        raw_name = str(resource.get("name", ""))
        match = _CHILD_NAME.search(raw_name)
        name = match[1] if match else raw_name.rsplit("/", 1)[-1]
        if not name:
            raise FactoryError(f"{where}: no resource name")
        properties = _resolved(resource.get("properties") or {}, parameters, where)
        if kind.endswith("/pipelines"):
            pipelines[name] = properties
        else:
            triggers.append(trigger_from_resource(name, properties, where))
    factory = parameters.get("factoryName") or path.parent.name
    return FactoryDefinitions(str(factory), str(path), MappingProxyType(pipelines), tuple(triggers))


def load_definitions(source: str) -> FactoryDefinitions:
    """The definitions at SOURCE: a git folder, an ARM export (file or folder), or a live factory's id."""
    if source.lower().startswith(LIVE_PREFIX):
        from monitoring.factory.live import read_live_factory  # azure-* only when asked for

        return read_live_factory(source)
    path = Path(source)
    if path.is_file():
        return read_arm_template(path)
    if (path / ARM_TEMPLATE).is_file() and not (path / "pipeline").is_dir():
        return read_arm_template(path / ARM_TEMPLATE)
    if path.is_dir():
        return read_git_folder(path)
    raise FactoryError(
        f"{source}: not found (a git-integration folder, an {ARM_TEMPLATE}, or /subscriptions/.../factories/NAME)"
    )
