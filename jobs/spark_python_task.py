"""The job's tasks as a plain script, for a `spark_python_task` on a job cluster or a local run.

    python jobs/spark_python_task.py ingest --config=config/monitoring.example.yml --lakehouse=./lakehouse
    python jobs/spark_python_task.py evaluate --config=... --from=2025-04-01 --to=2025-04-30

The wheel task (`python_wheel_task`, entry point `monitoring_task`) runs the same function.
"""

import sys

from monitoring.databricks_tasks import main

if __name__ == "__main__":
    sys.exit(main())
