# Databricks notebook source
# MAGIC %md
# MAGIC # Explore the statuses
# MAGIC The analyst's queries, from `sql/` in this repository: today's KO list, streaks, one pipeline's last
# MAGIC 30 days, success rate per flow per month.

# COMMAND ----------

dbutils.widgets.text("catalog", "main", "Catalog")
dbutils.widgets.text("schema", "pipeline_monitoring", "Schema")
dbutils.widgets.text("pipeline_name", "telephonie_master", "Pipeline")

# COMMAND ----------

# MAGIC %sql
# MAGIC USE CATALOG IDENTIFIER(:catalog);
# MAGIC USE SCHEMA IDENTIFIER(:schema);

# COMMAND ----------

# MAGIC %sql
# MAGIC -- Today's KO and WARNING pipelines (sql/todays_ko_list.sql)
# MAGIC SELECT flow, pipeline_name, status, reason, consecutive_ko_days, start_local, end_local, duration_hms,
# MAGIC        failure_type, error_message, detail
# MAGIC FROM pipeline_daily_status
# MAGIC WHERE business_date = current_date() AND status IN ('KO', 'WARNING')
# MAGIC ORDER BY CASE status WHEN 'KO' THEN 0 ELSE 1 END, flow, execution_order, pipeline_name

# COMMAND ----------

from datetime import date
from pathlib import Path

queries = Path("../sql")
today = date.today()
for name, args in [
    ("ko_streaks.sql", {"min_days": 2}),
    ("pipeline_last_30_days.sql", {"pipeline_name": dbutils.widgets.get("pipeline_name"), "business_date": today}),
    ("success_rate_per_flow_per_month.sql", {}),
]:
    print(name)
    display(spark.sql((queries / name).read_text(), args=args))
