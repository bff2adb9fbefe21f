"""What the analyst narrowed the pages to: a date range and countries, variants, channels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from lakehouse.warehouse import literal, literal_list


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    countries: tuple[str, ...] = field(default=())
    variants: tuple[str, ...] = field(default=())
    channels: tuple[str, ...] = field(default=())

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length just before this one, same dimensions."""
        return Filters(
            self.start - timedelta(days=self.days),
            self.start - timedelta(days=1),
            self.countries,
            self.variants,
            self.channels,
        )

    def where(
        self,
        date_column: str = "event_dt",
        country: str | None = None,
        variant: str | None = None,
        channel: str | None = None,
    ) -> str:
        """A SQL condition on the columns a table has; a dimension it lacks is not filtered."""
        conditions = [f"{date_column} between {literal(self.start)} and {literal(self.end)}"]
        for column, values in (
            (country, self.countries),
            (variant, self.variants),
            (channel, self.channels),
        ):
            if column is not None and values:
                conditions.append(f"{column} in {literal_list(values)}")
        return " and ".join(conditions)

    def ignored(self, country: bool, variant: bool, channel: bool) -> list[str]:
        """Names of the active filters a page's tables cannot apply (shown to the analyst)."""
        unused: Sequence[tuple[bool, tuple[str, ...], str]] = (
            (country, self.countries, "country"),
            (variant, self.variants, "variant"),
            (channel, self.channels, "channel"),
        )
        return [name for applies, values, name in unused if values and not applies]
