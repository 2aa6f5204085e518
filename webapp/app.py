"""The app: two pages, "Atlas" and "Scenario lab", under one navigation.

``streamlit run app.py`` runs :func:`run`. Each page is a function of its module
(:func:`webapp.atlas.main`, :func:`webapp.lab.main`); they share one cache
(:mod:`webapp.cache`) and one data-source sidebar (:mod:`webapp.datasource`).
"""

from __future__ import annotations

import streamlit as st

from webapp.datasource import error_text


def _safely(page):
    """Run a page; an unexpected failure becomes one line in the page, never a traceback."""

    def run_page() -> None:
        try:
            page()
        except Exception as err:  # last line of defence (Streamlit's stop and rerun are BaseExceptions)
            st.error(f"Something went wrong: {error_text(err)}", icon=":material/error:")

    run_page.__name__ = page.__name__
    return run_page


def pages() -> list:
    """Return the two pages, the atlas first (the default)."""
    from webapp import atlas, lab

    return [
        st.Page(_safely(atlas.main), title="Atlas", icon=":material/map:", url_path="atlas", default=True),
        st.Page(_safely(lab.main), title="Scenario lab", icon=":material/science:", url_path="lab"),
    ]


def run() -> None:
    """Set up the page and run the page the visitor chose."""
    st.set_page_config(page_title="Reform Atlas · Kazakhstan's regional reforms", page_icon=":material/map:", layout="wide")
    st.navigation(pages()).run()
