"""Reform Atlas — the interactive map of Kazakhstan's 2022 regional reform.

Run with ``streamlit run app.py``. The app is the package :mod:`webapp` (pages
"Atlas" and "Scenario lab"); this file only starts it.
"""

from webapp.app import run

run()
