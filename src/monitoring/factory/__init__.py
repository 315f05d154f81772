"""Flows, order and schedules read from the Data Factory's own definitions (``import-factory``, drift, live runs).

- :mod:`.definitions`: pipelines and triggers from a git-integration folder or an ARM template export;
- :mod:`.live`: the same from the live factory (azure-mgmt-datafactory), and the client and its credential;
- :mod:`.derive`: flows, members, ``depends_on`` and schedules derived from them (pure);
- :mod:`.timezones`: ADF's Windows time zone names to IANA, through tzlocal's CLDR table;
- :mod:`.writer`: the commented ``monitoring.yml``, merged with an existing one on re-import;
- :mod:`.drift`: a configuration against the factory (``validate-config --factory``, ``gold/config_drift``);
- :mod:`.fetch`: pipeline runs fetched live, written raw in the ``adf_rest_api`` layout.
"""

from __future__ import annotations

from pathlib import Path

from monitoring.config import Config, load_config
from monitoring.factory.definitions import load_definitions
from monitoring.factory.derive import derive
from monitoring.factory.drift import DriftFinding, find_drift
from monitoring.factory.writer import ImportResult, import_config


def import_factory(source: str, out: Path) -> ImportResult:
    """Derive the flows of the factory at ``source`` and write them to ``out``, keeping its hand-set keys."""
    existing = None
    if out.exists():
        load_config(out)  # an existing file must load first: its errors name the line or the key
        existing = out.read_text(encoding="utf-8")
    result = import_config(derive(load_definitions(source)), existing)
    temporary = out.with_name(f".{out.name}.tmp")  # never a half-written monitoring.yml
    temporary.write_text(result.text, encoding="utf-8")
    temporary.replace(out)
    return result


def drift_against(config: Config, source: str) -> list[DriftFinding]:
    """What differs between ``config`` and the factory at ``source``."""
    return find_drift(config, derive(load_definitions(source)))
