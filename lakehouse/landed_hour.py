"""One ingest hour of the landing store: which objects it holds under each prefix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from streaming.contracts.landing import LandedObject, LandingStore
from streaming.contracts.schema_registry import PRODUCER_EVENT, default_registry
from streaming.contracts.settings import Settings


@dataclass(frozen=True)
class IngestHour:
    """An hour of arrival in UTC, named as the landing layout and the lake partitions name it."""

    start: datetime

    @classmethod
    def of(cls, moment: datetime) -> IngestHour:
        """The hour holding ``moment``; a naive datetime is taken as UTC."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        return cls(moment.replace(minute=0, second=0, microsecond=0))

    @property
    def ingest_dt(self) -> date:
        return self.start.date()

    @property
    def hour(self) -> str:
        return f"{self.start:%H}"

    @property
    def path(self) -> str:
        return f"ingest_dt={self.ingest_dt.isoformat()}/hour={self.hour}"

    def __str__(self) -> str:
        return f"{self.ingest_dt.isoformat()}T{self.hour}"


def event_types() -> list[str]:
    """Firehose partitions bronze by event type; the producer schemas name every possible one."""
    registry = default_registry()
    found: set[str] = set()
    for version in registry.versions(PRODUCER_EVENT):
        document = registry.get(PRODUCER_EVENT, version).document
        found.update(document["properties"]["event_type"]["enum"])
    return sorted(found)


def bronze_objects(store: LandingStore, settings: Settings, hour: IngestHour) -> list[LandedObject]:
    objects = []
    for event_type in event_types():
        prefix = f"{settings.landing_bronze_prefix}/events_type={event_type}/{hour.path}/"
        objects.extend(store.list(prefix))
    return sorted(objects, key=lambda item: item.key)


def quarantine_objects(
    store: LandingStore, settings: Settings, hour: IngestHour
) -> list[LandedObject]:
    prefix = f"{settings.landing_quarantine_prefix}/{hour.path}/"
    return sorted(store.list(prefix), key=lambda item: item.key)
