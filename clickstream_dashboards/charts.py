"""Chart builders: every chart has a title, labelled axes and units."""

from __future__ import annotations

import altair as alt
import pandas as pd


def measures(frame: pd.DataFrame, x: str, columns: dict[str, str], value: str) -> pd.DataFrame:
    """``columns`` (name: label) stacked into one ``measure`` column, for a line per measure."""
    return frame.rename(columns=columns).melt(x, list(columns.values()), "measure", value)


def line(
    frame: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    *,
    x_title: str,
    y_title: str,
    color: str | None = None,
    y_format: str = ",.0f",
) -> alt.Chart:
    encoding = {
        "x": alt.X(x, title=x_title),
        "y": alt.Y(y, title=y_title, axis=alt.Axis(format=y_format)),
        "tooltip": list(frame.columns),
    }
    if color is not None:
        encoding["color"] = alt.Color(color, title=color.replace("_", " ").capitalize())
    return alt.Chart(frame, title=title).mark_line(point=True).encode(**encoding)


def bars(
    frame: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    *,
    x_title: str,
    y_title: str,
    color: str | None = None,
    x_format: str = ",.0f",
    sort: str | None = "-x",
) -> alt.Chart:
    encoding = {
        "x": alt.X(x, title=x_title, axis=alt.Axis(format=x_format)),
        "y": alt.Y(y, title=y_title, sort=sort, axis=alt.Axis(labelLimit=240)),
        "tooltip": list(frame.columns),
    }
    if color is not None:
        encoding["color"] = alt.Color(color, title=color.replace("_", " ").capitalize())
        encoding["yOffset"] = alt.YOffset(color)
    return alt.Chart(frame, title=title).mark_bar().encode(**encoding)


def heatmap(
    frame: pd.DataFrame,
    x: str,
    y: str,
    value: str,
    *,
    title: str,
    x_title: str,
    y_title: str,
    value_title: str,
) -> alt.LayerChart:
    base = alt.Chart(frame, title=title).encode(
        x=alt.X(f"{x}:O", title=x_title), y=alt.Y(f"{y}:O", title=y_title)
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            value,
            title=value_title,
            scale=alt.Scale(scheme="blues"),
            legend=alt.Legend(format=".0%"),
        ),
        tooltip=list(frame.columns),
    )
    labels = base.mark_text(fontSize=10).encode(text=alt.Text(value, format=".0%"))
    return cells + labels
