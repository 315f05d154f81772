"""The files of a Power BI Project (PBIP): the .pbip, the report (PBIR) and the semantic model (TMDL).

No `.platform` files: they carry a Fabric Git-integration `logicalId` that must be unique per workspace item, so a
template copied by several teams must not fix one; Power BI Desktop writes them when it saves the project.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from monitoring.powerbi.model import ModelSource, build_model
from monitoring.powerbi.report import report_parts
from monitoring.powerbi.tmdl import definition_files

PROJECT_NAME = "PipelineMonitoring"
PBIP_SCHEMA = "https://developer.microsoft.com/json-schemas/fabric/pbip/pbipProperties/1.0.0/schema.json"
PBIR_SCHEMA = "https://developer.microsoft.com/json-schemas/fabric/item/report/definitionProperties/2.0.0/schema.json"
PBISM_SCHEMA = (
    "https://developer.microsoft.com/json-schemas/fabric/item/semanticModel/definitionProperties/1.0.0/schema.json"
)


def _json(part: dict[str, Any]) -> str:
    return json.dumps(part, indent=2, ensure_ascii=False) + "\n"


def project_files(source: ModelSource, name: str = PROJECT_NAME) -> dict[str, str]:
    """Relative path -> text of every file of the project."""
    report, model = f"{name}.Report", f"{name}.SemanticModel"
    files = {
        f"{name}.pbip": _json(
            {
                "$schema": PBIP_SCHEMA,
                "version": "1.0",
                "artifacts": [{"report": {"path": report}}],
                "settings": {"enableAutoRecovery": True},
            }
        ),
        f"{report}/definition.pbir": _json(
            {"$schema": PBIR_SCHEMA, "version": "4.0", "datasetReference": {"byPath": {"path": f"../{model}"}}}
        ),
        f"{model}/definition.pbism": _json({"$schema": PBISM_SCHEMA, "version": "4.2", "settings": {}}),
    }
    files.update({f"{report}/definition/{path}": _json(part) for path, part in report_parts().items()})
    files.update({f"{model}/definition/{path}": text for path, text in definition_files(build_model(source)).items()})
    return files


def write_project(out: Path, source: ModelSource, name: str = PROJECT_NAME) -> Path:
    """Write the project under `out` (its report and model folders replaced), and return the .pbip's path."""
    out.mkdir(parents=True, exist_ok=True)
    for folder in (out / f"{name}.Report", out / f"{name}.SemanticModel"):
        if folder.exists():
            shutil.rmtree(folder)  # a table or page removed from the code must not linger in the folder
    for relative, content in project_files(source, name).items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8", newline="\n")
    return out / f"{name}.pbip"
