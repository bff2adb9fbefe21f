"""The dashboards' entry point: ``streamlit run clickstream_dashboards/app.py`` (what
``clickstream dashboards`` runs)."""

from __future__ import annotations

import streamlit as st

from clickstream_dashboards.pages import (
    attribution,
    data_health,
    engagement,
    funnel,
    overview,
    realtime,
)

PAGES = (
    (overview.render, "Overview", "overview"),
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
    navigation.run()


main()
