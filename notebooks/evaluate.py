# Databricks notebook source
# MAGIC %md
# MAGIC # Pipeline monitoring: evaluate the business dates
# MAGIC Writes the gold and KPI tables for today and the days before (or the job's from/to dates).
# MAGIC
# MAGIC The nightly job's `evaluate` task. Its widgets are the task's arguments (the job sets them); the work is one
# MAGIC call into the `monitoring` package (the bundle's wheel); the tables below are the night's summary.

# COMMAND ----------

dbutils.widgets.text("wheel", "", "Wheel (workspace path)")
dbutils.widgets.text("config", "", "monitoring.yml")
dbutils.widgets.text("catalog", "", "Catalog")
dbutils.widgets.text("schema", "", "Schema")
dbutils.widgets.text("lakehouse", "", "Lakehouse folder (instead of catalog/schema)")
dbutils.widgets.text("timezone", "", "Time zone")
dbutils.widgets.text("from", "", "From (YYYY-MM-DD)")
dbutils.widgets.text("to", "", "To (YYYY-MM-DD)")
dbutils.widgets.text("as_of", "", "As of (ISO time)")

# COMMAND ----------

# MAGIC %md
# MAGIC Serverless notebook tasks take no dependencies from the job: the notebook installs the bundle's wheel itself
# MAGIC (the `wheel` widget is its workspace path, set by the job; see resources/pipeline_monitoring.job.yml).

# COMMAND ----------

wheel = dbutils.widgets.get("wheel")

# COMMAND ----------

# MAGIC %pip install --quiet {wheel}

# COMMAND ----------

from monitoring.databricks_tasks import run_notebook_task

summary = run_notebook_task("evaluate", dbutils.widgets.getAll())  # the wheel widget is ignored

# COMMAND ----------

for title, rows in summary.items():
    print(title)
    display(rows)
