"""The Power BI report as code: a PBIP project (TMDL model, PBIR report) generated from the gold TableSpecs."""

from monitoring.powerbi.model import DatabricksSource, DeltaFolderSource, ModelSource, build_model
from monitoring.powerbi.project import PROJECT_NAME, project_files, write_project

__all__ = [
    "PROJECT_NAME",
    "DatabricksSource",
    "DeltaFolderSource",
    "ModelSource",
    "build_model",
    "project_files",
    "write_project",
]
