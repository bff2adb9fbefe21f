"""The dashboards' entry point: ``streamlit run clickstream_dashboards/app.py`` (what
``clickstream dashboards`` runs)."""

from __future__ import annotations

import streamlit as st

from clickstream_dashboards.views import (
    attribution,
    data_health,
    engagement,
    funnel,
    overview,
    realtime,
)
from lakehouse.warehouse import WarehouseError

PAGES = (
    (overview.render, "Overview", "overview"),  # the default page: served at /
    (funnel.render, "Funnel", "funnel"),
    (attribution.render, "Attribution", "attribution"),
    (engagement.render, "Engagement", "engagement"),
    (realtime.render, "Real time", "realtime"),
    (data_health.render, "Data health", "data-health"),
)


def main() -> None:
    st.set_page_config(page_title="Clickstream dashboards", layout="wide")
    navigation = st.navigation(
        [
            st.Page(render, title=title, url_path=path, default=index == 0)
            for index, (render, title, path) in enumerate(PAGES)
        ]
    )
    try:
        navigation.run()
    except WarehouseError as error:
        reason = str(error).splitlines()[0]
        st.error(
            f"The lake cannot answer this page yet ({reason}). Fill it with `make demo`, or "
            "wait for the first lake refresh under `make dev`."
        )


main()
