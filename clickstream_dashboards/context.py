"""What every page shares: the warehouse, the filters the sidebar set, cached queries, formats."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import streamlit as st

from clickstream_dashboards import queries
from clickstream_dashboards.filters import Filters
from lakehouse.warehouse import Warehouse, WarehouseError, open_warehouse
from streaming.contracts.settings import get_settings

# Marts change once an hour; a page re-reads them at most this often. The real-time page
# reads uncached.
CACHE_SECONDS = 60
DEFAULT_DAYS = 30
Result = TypeVar("Result")


@st.cache_resource(show_spinner=False)
def warehouse() -> Warehouse:
    """Opened once per server, with the lake's views attached then: the first page of the lake
    does not wait for them."""
    opened = open_warehouse(get_settings())
    with contextlib.suppress(WarehouseError):  # a page's own query reports it
        opened.prepare()
    return opened


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def cached(query_name: str, *args: Any) -> Any:
    """``queries.<query_name>(warehouse, *args)``, cached per arguments."""
    query: Callable[..., Any] = getattr(queries, query_name)
    return query(warehouse(), *args)


def filters() -> Filters:
    choices: queries.Choices = cached("choices")
    last_day = choices.last_day or date.today()
    first_day = choices.first_day or last_day
    default_start = max(first_day, last_day - timedelta(days=DEFAULT_DAYS - 1))
    with st.sidebar:
        st.header("Filters")
        picked = st.date_input(
            "Event dates (UTC)",
            value=(default_start, last_day),
            min_value=first_day - timedelta(days=DEFAULT_DAYS),
            max_value=last_day,
            key="dates",
        )
        start, end = (
            picked if isinstance(picked, tuple) and len(picked) == 2 else (default_start, last_day)
        )
        countries = st.multiselect("Country", choices.countries, key="countries")
        variants = st.multiselect("A/B variant", choices.variants, key="variants")
        channels = st.multiselect("Channel", choices.channels, key="channels")
    return Filters(start, end, tuple(countries), tuple(variants), tuple(channels))


def note_ignored(active: Filters, country: bool, variant: bool, channel: bool) -> None:
    ignored = active.ignored(country, variant, channel)
    if ignored:
        st.caption(f"The {', '.join(ignored)} filter does not apply to this page's tables.")


def count(value: float | int | None) -> str:
    return f"{int(value or 0):,}"


def money(value: float | int | None) -> str:
    return f"${float(value or 0):,.2f}"


def dollars(value: float | int | None) -> str:
    """Whole dollars, for headline figures."""
    return f"${float(value or 0):,.0f}"


def percent(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{100 * value:.{digits}f}%"


def change(current: float, previous: float) -> str | None:
    if previous == 0:
        return None
    return f"{100 * (current - previous) / previous:+.1f}% vs previous period"
