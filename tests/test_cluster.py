"""The job on a real cluster: a Spark standalone master and two workers on 127.0.0.1, started from pyspark's own
``bin/spark-class``, each executor a JVM of its own. A closure over driver-only state, or anything that works only
because driver and executors share one JVM, fails here and not on ``local[N]``.

What this does not show: the workers share this machine's disk, so a path that only the driver can see (a local
folder on a real cluster's driver node) still works here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyspark
import pytest
from chispa import assert_df_equality

from cluster_nights import run_nights
from monitoring.tables import FLOW_DAILY_STATUS, PIPELINE_DAILY_STATUS
from support import REPO

pytestmark = [
    pytest.mark.heavy,  # a cluster and two runs of two nights (~5 min): `make test-heavy`
    pytest.mark.skipif(bool(os.environ.get("SPARK_REMOTE")), reason="the cluster's driver is a classic session"),
]

SPARK_HOME = Path(pyspark.__file__).parent
WORKERS = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(check, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise TimeoutError(f"{what} after {seconds:.0f} s")


def master_state(ui_port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=5) as response:
            return json.load(response)
    except OSError:
        return {}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """spark://127.0.0.1:<port> with two alive workers; every process is stopped at the end, pass or fail."""
    base = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_NO_DAEMONIZE": "1"}
    env.pop("SPARK_REMOTE", None)
    port, ui_port = free_port(), free_port()
    url = f"spark://127.0.0.1:{port}"
    spark_class = str(SPARK_HOME / "bin" / "spark-class")
    commands = [[spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port)]]
    commands[0] += ["--webui-port", str(ui_port)]
    worker = [spark_class, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1", "--cores", "1"]
    for n in range(WORKERS):
        folder = str(base / f"worker{n}")
        commands.append([*worker, "--memory", "1536m", "--webui-port", str(free_port()), "--work-dir", folder])
    processes: list[subprocess.Popen] = []
    try:
        for n, command in enumerate(commands):
            with (base / f"process{n}.log").open("wb") as log:
                # A session of its own: spark-class execs a JVM, and the whole group is stopped below.
                processes.append(
                    subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
                )
            if n == 0:
                wait_for(lambda: master_state(ui_port).get("status") == "ALIVE", "the master is not up")
        wait_for(lambda: master_state(ui_port).get("aliveworkers") == WORKERS, f"{WORKERS} workers did not register")
        yield url, base
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def test_the_nights_on_a_cluster_write_the_gold_tables_of_a_local_run(spark, cluster, tmp_path):
    url, base = cluster
    on_cluster = tmp_path / "cluster"
    env = {**os.environ, "SPARK_MASTER": url, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests")])
    env.pop("SPARK_REMOTE", None)
    done = subprocess.run(
        [sys.executable, str(REPO / "tests" / "cluster_nights.py"), str(on_cluster)],
        capture_output=True,
        text=True,
        env=env,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.splitlines()[0] == url  # the driver ran on the cluster, not on local[*]
    # Both workers ran an executor of the application: separate JVMs, each with its own work folder.
    for n in range(WORKERS):
        assert list((base / f"worker{n}").glob("app-*/*/stderr")), f"worker {n} ran no executor"

    local = run_nights(spark, tmp_path / "local")
    for table in (PIPELINE_DAILY_STATUS, FLOW_DAILY_STATUS):
        keys = (
            ["business_date", "flow", "pipeline_name"] if table is PIPELINE_DAILY_STATUS else ["business_date", "flow"]
        )
        expected = spark.read.format("delta").load(str(local / table.name)).orderBy(*keys)
        actual = spark.read.format("delta").load(str(on_cluster / "lakehouse" / table.name)).orderBy(*keys)
        assert expected.count() > 0
        assert_df_equality(actual, expected, ignore_nullable=True)
