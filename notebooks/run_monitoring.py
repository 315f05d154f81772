# Databricks notebook source
# MAGIC %md
# MAGIC # Pipeline monitoring: run the job by hand
# MAGIC Ingests new logs and evaluates a range of business dates, exactly as the nightly job's tasks do,
# MAGIC then shows the flows' statuses. Leave the dates empty for today and the 3 days before.

# COMMAND ----------

# MAGIC %pip install ../dist/pipeline_monitoring-*.whl --quiet

# COMMAND ----------

dbutils.widgets.text("config", "../config/monitoring.example.yml", "monitoring.yml")
dbutils.widgets.text("catalog", "main", "Catalog")
dbutils.widgets.text("schema", "pipeline_monitoring", "Schema")
dbutils.widgets.text("from_date", "", "From (YYYY-MM-DD)")
dbutils.widgets.text("to_date", "", "To (YYYY-MM-DD)")

# COMMAND ----------

from monitoring.databricks_tasks import main as run_task

arguments = [f"--{key}={dbutils.widgets.get(key)}" for key in ("config", "catalog", "schema")]
arguments += [f"--from={dbutils.widgets.get('from_date')}", f"--to={dbutils.widgets.get('to_date')}"]
assert run_task(["run", *arguments]) == 0, "the run failed: see the output above"

# COMMAND ----------

catalog, schema = dbutils.widgets.get("catalog"), dbutils.widgets.get("schema")
display(
    spark.table(f"{catalog}.{schema}.flow_daily_status")
    .where("business_date = current_date()")
    .select("flow", "status", "reason", "start_local", "end_local", "duration_hms", "consecutive_ko_days", "detail")
)
