"""alkit dashboard: ``alkit dashboard`` (or ``make dashboard``) starts it on http://127.0.0.1:8501.

The app only wires widgets to alkit: figures come from ``alkit.viz``, runs from
``alkit.app.worker``, the Play game from ``alkit.app.playground``; every page reads the run store.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# Import the heavy, lazily imported libraries here, once, before any page runs: when two threads (a page's
# script and Streamlit's own serialisation) import pandas at the same moment, Python's import-deadlock
# avoidance can hand one of them a half-initialised module ("partially initialized module 'pandas'").
import dashui  # noqa: E402
import pandas  # noqa: E402, F401
import plotly.graph_objects  # noqa: E402, F401
import streamlit as st  # noqa: E402
import torch  # noqa: E402

# One torch thread unless OMP_NUM_THREADS says otherwise: the Play page's retraining and the background runs
# share the CPU with the server, and on a small machine more threads per tiny model only fight each other.
if not os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(1)

st.set_page_config(page_title="alkit dashboard", page_icon=":material/target:", layout="wide")

PAGES = {
    "Experiments": [
        st.Page("views/run.py", title="Run", icon=":material/play_circle:", default=True),
        st.Page("views/curves.py", title="Learning curves", icon=":material/show_chart:"),
        st.Page("views/embeddings.py", title="Embeddings", icon=":material/scatter_plot:"),
        st.Page("views/batch.py", title="Selected batch", icon=":material/grid_view:"),
        st.Page("views/theory.py", title="Theory", icon=":material/functions:"),
    ],
    "Hands-on": [
        st.Page("views/label.py", title="Label", icon=":material/edit:"),
        st.Page("views/play.py", title="Play", icon=":material/sports_esports:"),
        st.Page("views/replay.py", title="Replay", icon=":material/replay:"),
    ],
}

page = st.navigation(PAGES)
with st.sidebar:
    st.toggle("Interactive plotly charts", key="plotly_charts",
              help="Off: alkit's light SVG charts (hover, legend), drawn at once in a fresh tab. On: plotly "
                   "(zoom, pan, PNG export), whose 4.7 MB script a fresh tab loads first (about 2-3 s more).")
    st.caption(f"Run store: `{dashui.store().path}`")
page.run()
