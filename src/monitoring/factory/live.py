"""The live factory through the ARM API (azure-mgmt-datafactory), and the credential it is called with.

- **Credential.** On Databricks (serverless has no managed identity): a service principal whose tenant, client id
  and secret are the keys ``adf-tenant-id``, ``adf-client-id`` and ``adf-client-secret`` of the secret scope.
  Elsewhere: ``DefaultAzureCredential`` (``az login``, the ``AZURE_*`` environment variables, a managed identity).
- **Retries** for 429 and 5xx are azure-core's ``RetryPolicy``, configured here (exponential backoff, Retry-After
  honoured, and POST retried too: ``queryPipelineRuns`` is a read). There is no second loop around it.
- **Endpoint.** Azure's public cloud, or ``PIPELINE_MONITOR_ARM_ENDPOINT`` (a sovereign cloud, a test server).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from monitoring.alerts.config import SecretRef
from monitoring.config import FACTORY_ID
from monitoring.factory.definitions import FactoryDefinitions, FactoryError, trigger_from_resource

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.mgmt.datafactory import DataFactoryManagementClient

    from monitoring.alerts.secrets import SecretSource

ARM_ENDPOINT_ENV = "PIPELINE_MONITOR_ARM_ENDPOINT"
PUBLIC_ARM_ENDPOINT = "https://management.azure.com"
DEFAULT_SECRET_SCOPE = "pipeline-monitoring"
SERVICE_PRINCIPAL_KEYS = ("adf-tenant-id", "adf-client-id", "adf-client-secret")
# queryPipelineRuns is a POST that only reads: retried like a GET (azure-core retries POST on 500/503/504 only).
RETRIED_METHODS = ("HEAD", "GET", "PUT", "DELETE", "OPTIONS", "TRACE", "POST")


@dataclass(frozen=True)
class FactoryId:
    subscription: str
    resource_group: str
    name: str

    @staticmethod
    def parse(resource_id: str) -> FactoryId:
        match = FACTORY_ID.fullmatch(resource_id.strip())
        if not match:
            raise FactoryError(
                f"{resource_id}: not /subscriptions/ID/resourceGroups/RG/providers/Microsoft.DataFactory/factories/NAME"
            )
        return FactoryId(match["subscription"], match["resource_group"], match["factory"])


@dataclass(frozen=True)
class RetrySettings:
    """azure-core's RetryPolicy: attempts, and exponential backoff (``backoff_factor * 2 ** n``, at most max)."""

    total: int = 6
    backoff_factor: float = 2.0
    backoff_max: float = 120.0


def azure_credential(
    on_databricks: bool, secret_scope: str = DEFAULT_SECRET_SCOPE, secrets: SecretSource | None = None
) -> TokenCredential:
    """The service principal of the secret scope on Databricks; ``DefaultAzureCredential`` elsewhere."""
    if not on_databricks:
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()
    from azure.identity import ClientSecretCredential

    from monitoring.alerts.secrets import secret_source

    source = secrets or secret_source(True)
    tenant, client_id, secret = (
        source(SecretRef(secret_scope, key, env="", path="source.factory")).reveal() for key in SERVICE_PRINCIPAL_KEYS
    )
    return ClientSecretCredential(tenant, client_id, secret)


def management_client(
    factory: FactoryId,
    credential: TokenCredential,
    retry: RetrySettings = RetrySettings(),
    endpoint: str | None = None,
    **transport: Any,
) -> DataFactoryManagementClient:
    """A Data Factory client whose retries are ``retry``; ``transport`` goes to azure-core (connection_verify...)."""
    from azure.core.pipeline.policies import RetryMode, RetryPolicy
    from azure.mgmt.datafactory import DataFactoryManagementClient

    base_url = (endpoint or os.environ.get(ARM_ENDPOINT_ENV) or PUBLIC_ARM_ENDPOINT).rstrip("/")
    policy = RetryPolicy(
        retry_total=retry.total,
        retry_backoff_factor=retry.backoff_factor,
        retry_backoff_max=retry.backoff_max,
        retry_mode=RetryMode.Exponential,
    )
    return DataFactoryManagementClient(
        credential,
        factory.subscription,
        base_url=base_url,
        credential_scopes=[f"{PUBLIC_ARM_ENDPOINT if base_url == PUBLIC_ARM_ENDPOINT else base_url}/.default"],
        retry_policy=policy,
        **transport,
    )


ClientFactory = Callable[[FactoryId], "DataFactoryManagementClient"]


def default_client(factory: FactoryId) -> DataFactoryManagementClient:
    from monitoring.spark import on_databricks

    return management_client(factory, azure_credential(on_databricks()))


def read_live_factory(resource_id: str, client_for: ClientFactory = default_client) -> FactoryDefinitions:
    """The live factory's pipelines and triggers (every page of both lists), in their REST shape."""
    factory = FactoryId.parse(resource_id)
    client = client_for(factory)
    pipelines = {
        p.name: dict(p.as_dict().get("properties") or {})
        for p in client.pipelines.list_by_factory(
            factory.resource_group, factory.name, retry_on_methods=RETRIED_METHODS
        )
    }
    triggers = tuple(
        trigger_from_resource(t.name, t.as_dict().get("properties") or {}, f"{resource_id}/triggers/{t.name}")
        for t in client.triggers.list_by_factory(factory.resource_group, factory.name, retry_on_methods=RETRIED_METHODS)
    )
    return FactoryDefinitions(factory.name, resource_id, MappingProxyType(pipelines), triggers)
