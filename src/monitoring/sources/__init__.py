"""The log sources, one record per format in :mod:`.formats` (its file glob, reader, default path, options).

- :mod:`.raw_events`: the raw events every reader produces, the column helpers readers share, ``read_raw_events``;
- :mod:`.json_lines`: ADF's diagnostic logs and Log Analytics exports (a JSON record per line);
- :mod:`.rest_api`: saved ``queryPipelineRuns`` responses (a JSON document per file);
- :mod:`.csv_export`: the CSV export the Power BI report was built on;
- :mod:`.databricks_jobs`: Databricks job runs, from the Jobs API (not files).

This package and :mod:`.formats` import no pyspark: the configuration checks format names and options against the
records, and the CLI reports a :class:`SourceError`, without starting Spark.
"""


class SourceError(RuntimeError):
    """The log source cannot be read at all (missing folder, CSV header without a mapped column...)."""
