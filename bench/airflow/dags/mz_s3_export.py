"""
The export as an Airflow user would write it (bench/airflow): the COPY ... TO 's3://...' statement over a
Postgres hook, then an S3 sensor poking every second until Materialize's `mz-<id>-INCOMPLETE` sentinel is gone
and data files are there. The bench triggers it with conf = {"sql", "bucket", "key"}: the same COPY statement
our bulkExport runs, and the folder it writes to.

Connections come from the environment (AIRFLOW_CONN_MZ: mz-local over pg; AIRFLOW_CONN_MOTO: moto's S3).
Concurrency limits are Airflow's defaults unless the bench sets AIRFLOW__CORE__* for them.
"""

from __future__ import annotations

import pendulum
from airflow.providers.amazon.aws.sensors.s3 import S3KeySensor
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import DAG, task


def export_complete(files: list[dict]) -> bool:
    """Done once Materialize deleted its sentinel and at least one data file of the COPY is there."""
    names = [f["Key"].rsplit("/", 1)[-1] for f in files]
    sentinel = any(n.startswith("mz-") and n.endswith("-INCOMPLETE") for n in names)
    data = any(n.startswith("mz-") and not n.endswith("-INCOMPLETE") for n in names)
    return data and not sentinel


with DAG(
    dag_id="mz_s3_export",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["mz-s3-export-bench"],
):

    @task(task_id="copy_to_s3")
    def copy_to_s3(dag_run=None) -> None:
        # COPY ... TO 's3://...' must not run inside a transaction block in Materialize.
        PostgresHook(postgres_conn_id="mz").run(dag_run.conf["sql"], autocommit=True)

    wait_for_export = S3KeySensor(
        task_id="wait_for_export",
        bucket_key="s3://{{ dag_run.conf['bucket'] }}/{{ dag_run.conf['key'] }}/*",
        wildcard_match=True,
        check_fn=export_complete,
        aws_conn_id="moto",
        poke_interval=1,
        timeout=600,
        mode="poke",
    )

    copy_to_s3() >> wait_for_export
