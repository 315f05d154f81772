"""The live factory and the live run fetch: azure-mgmt-datafactory's real client against a local HTTPS fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential, DefaultAzureCredential

from alert_servers import self_signed_certificate
from fake_arm_api import (
    RESOURCE_ID,
    SAMPLE_NOW,
    SAMPLE_RUNS,
    FakeFactory,
    StaticToken,
    client_for,
    serve_factory,
)
from monitoring.alerts.config import SecretRef
from monitoring.alerts.secrets import Secret
from monitoring.factory.definitions import load_definitions
from monitoring.factory.derive import derive
from monitoring.factory.fetch import WATERMARK_FILE, fetch_runs, read_watermark
from monitoring.factory.live import (
    SERVICE_PRINCIPAL_KEYS,
    FactoryId,
    RetrySettings,
    azure_credential,
    management_client,
    read_live_factory,
)

GIT = Path(__file__).parent / "fixtures" / "adf_factory" / "git"
FACTORY = FactoryId.parse(RESOURCE_ID)


def _resources(kind: str) -> list[dict]:
    """The git fixture's files as the REST API lists them (with id and etag)."""
    found = []
    for path in sorted((GIT / kind).glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        document.update(id=f"{RESOURCE_ID}/{kind}s/{document['name']}", etag="0a00b1c2-0000-0d00-0000-65f1a2b30000")
        document["type"] = f"Microsoft.DataFactory/factories/{kind}s"
        found.append(document)
    return found


@pytest.fixture
def certificate(tmp_path):
    return self_signed_certificate(tmp_path)


def test_the_live_factory_gives_the_flows_of_its_git_folder(certificate):
    cert_file, key_file = certificate
    fake = FakeFactory(RESOURCE_ID, _resources("pipeline"), _resources("trigger"))
    with serve_factory(fake, cert_file, key_file):
        fake.fail_next("triggers", 429, {"Retry-After": "1"})
        live = read_live_factory(RESOURCE_ID, client_for(fake, cert_file))
    expected = derive(load_definitions(str(GIT)))
    assert derive(live).flows == expected.flows and derive(live).not_monitored == expected.not_monitored
    assert len(fake.calls("pipelines")) == 2  # both pages, through nextLink
    throttled, retried = fake.calls("triggers")
    assert retried.at - throttled.at >= 0.9  # Retry-After: 1 honoured by azure-core's policy


def _start_at(root: Path, moment: datetime) -> None:
    folder = root / f"factory={FACTORY.name}"
    folder.mkdir(parents=True)
    (folder / WATERMARK_FILE).write_text(json.dumps({"last_updated_before": moment.isoformat()}), encoding="utf-8")


def test_runs_are_fetched_by_last_update_page_by_page_and_written_as_they_came(tmp_path, certificate):
    cert_file, key_file = certificate
    root = tmp_path / "runs"
    _start_at(root, datetime(2025, 4, 7, 12, 0, tzinfo=UTC))
    fake = FakeFactory(RESOURCE_ID, [], [], runs=SAMPLE_RUNS)
    with serve_factory(fake, cert_file, key_file):
        fake.fail_next("queryPipelineRuns", 429, {"Retry-After": "1"})
        fake.fail_next("queryPipelineRuns", 500)
        report = fetch_runs(client_for(fake, cert_file)(FACTORY), FACTORY, root, SAMPLE_NOW)
    queries = fake.calls("queryPipelineRuns")
    assert [q.body.get("continuationToken") for q in queries[2:]] == [None, None, "2", None]
    assert queries[0].body == queries[1].body == queries[2].body  # 429, then 500, then served: the same request
    assert queries[1].at - queries[0].at >= 0.9  # Retry-After
    assert [q.body["lastUpdatedAfter"] for q in queries[2:]] == [
        "2025-04-07T11:55:00Z",  # the watermark, less the overlap
        "2025-04-08T00:00:00Z",
        "2025-04-08T00:00:00Z",  # the same window's second page
        "2025-04-09T00:00:00Z",
    ]
    assert queries[-1].body["lastUpdatedBefore"] == "2025-04-09T06:00:00Z"
    assert (report.windows, report.pages, report.runs) == (3, 4, 5)
    assert read_watermark(root / f"factory={FACTORY.name}") == SAMPLE_NOW
    fetched = {}
    for path in report.files:
        assert path.parent.parent.name == "factory=ADF-PROD" and path.parent.name.startswith("date=2025-04-0")
        page = json.loads(path.read_text(encoding="utf-8"))
        assert set(page) <= {"value", "continuationToken"}  # the response itself, not a re-serialised model
        fetched |= {run["runId"]: run for run in page["value"]}
    assert fetched == {r["runId"]: r for r in SAMPLE_RUNS[1:6]}
    assert sorted(p.name for p in (root / "factory=ADF-PROD" / "date=2025-04-08").iterdir()) == [
        "pipelineruns-20250408T000000Z-20250409T000000Z-p0001.json",
        "pipelineruns-20250408T000000Z-20250409T000000Z-p0002.json",
    ]


def test_the_watermark_moves_only_past_windows_whose_pages_are_written(tmp_path, certificate):
    cert_file, key_file = certificate
    root = tmp_path / "runs"
    _start_at(root, datetime(2025, 4, 7, 12, 0, tzinfo=UTC))
    fake = FakeFactory(RESOURCE_ID, [], [], runs=SAMPLE_RUNS, broken_from=datetime(2025, 4, 8, tzinfo=UTC))
    with serve_factory(fake, cert_file, key_file), pytest.raises(HttpResponseError):
        fetch_runs(client_for(fake, cert_file, RetrySettings(2, 0.01, 0.02))(FACTORY), FACTORY, root, SAMPLE_NOW)
    assert len(fake.calls("queryPipelineRuns")) == 1 + 3  # the first window, then the second tried 1 + 2 times
    folder = root / f"factory={FACTORY.name}"
    assert read_watermark(folder) == datetime(2025, 4, 8, tzinfo=UTC)
    assert not (folder / "date=2025-04-08").exists()
    fake.broken_from = None
    with serve_factory(fake, cert_file, key_file):  # the next night takes over from there
        report = fetch_runs(client_for(fake, cert_file)(FACTORY), FACTORY, root, SAMPLE_NOW)
    assert report.windows == 2 and read_watermark(folder) == SAMPLE_NOW
    assert fake.calls("queryPipelineRuns")[-3].body["lastUpdatedAfter"] == "2025-04-07T23:55:00Z"  # with the overlap


def test_the_credential_is_the_secret_scopes_service_principal_on_databricks():
    values = dict(zip(SERVICE_PRINCIPAL_KEYS, ("tenant-1", "client-2", "s3cr3t-value"), strict=True))
    asked: list[SecretRef] = []

    def scope(ref: SecretRef) -> Secret:
        asked.append(ref)
        return Secret(values[ref.key])

    credential = azure_credential(True, "adf-scope", scope)
    assert isinstance(credential, ClientSecretCredential)
    assert {(r.scope, r.key) for r in asked} == {("adf-scope", k) for k in SERVICE_PRINCIPAL_KEYS}
    assert isinstance(azure_credential(False), DefaultAzureCredential)


def test_the_client_retry_policy_is_the_configured_one():
    client = management_client(FACTORY, StaticToken(), RetrySettings(4, 1.5, 30))
    policy = client._config.retry_policy
    assert (policy.total_retries, policy.backoff_factor, policy.backoff_max) == (4, 1.5, 30)
