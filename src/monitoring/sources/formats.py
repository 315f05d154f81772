"""The log formats, one record each: what files a format reads, with which reader, and which options apply.

Adding a format is one record here plus its reader. The configuration validates ``source`` against these records,
the night dispatches on them (file listing or not, day folders or not), and :func:`.raw_events.read_raw_events`
imports the reader a record names. Pure Python: a reader is named by its import path and imported when a night
reads files, so ``validate-config`` and the CLI's argument checks never start Spark.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitoring.sources.raw_events import Reader


@dataclass(frozen=True)
class SourceFormat:
    name: str  # as source.format spells it
    glob: str | None  # the log files under source.path; None: not a folder of files (an API)
    reader: str | None  # "module:function" of the file reader (a raw_events.Reader); None: not a folder of files
    default_path: str | None = None  # source.path when the config gives none; None: the path is required
    lookback: bool = False  # source.lookback_hours applies: how far back a night lists (runs, or day folders)
    day_folders: bool = False  # ADF's y=/m=/d= layout: after the first night, only the lookback's days are listed
    csv_options: bool = False  # source.delimiter, timestamp_format and columns apply
    fetch: bool = False  # source.fetch may download the runs of a live factory into source.path first

    @property
    def lists_files(self) -> bool:
        """Whether a night lists files under ``source.path`` and reads the new ones (else it asks an API)."""
        return self.glob is not None

    def read(self) -> Reader:
        """The file reader, imported now (it pulls in pyspark)."""
        if self.reader is None:
            raise ValueError(f"source format {self.name!r} does not read files")
        module, _, function = self.reader.partition(":")
        return getattr(import_module(module), function)


FORMATS: tuple[SourceFormat, ...] = (
    SourceFormat(
        "adf_diagnostic",
        glob="*.json",
        reader="monitoring.sources.json_lines:read_adf_diagnostic",
        lookback=True,
        day_folders=True,
    ),
    SourceFormat("log_analytics", glob="*.json", reader="monitoring.sources.json_lines:read_log_analytics"),
    SourceFormat("adf_rest_api", glob="*.json", reader="monitoring.sources.rest_api:read_adf_rest_api", fetch=True),
    SourceFormat("csv", glob="*.csv", reader="monitoring.sources.csv_export:read_csv_export", csv_options=True),
    # path is only a label: the workspace comes from databricks-sdk's authentication.
    SourceFormat("databricks_jobs", glob=None, reader=None, default_path="databricks-jobs", lookback=True),
)
SOURCE_FORMATS: tuple[str, ...] = tuple(f.name for f in FORMATS)
_BY_NAME = {f.name: f for f in FORMATS}


def source_format(name: str) -> SourceFormat:
    """The record of a format name (one the configuration has validated)."""
    return _BY_NAME[name]
