"""alkit dashboard: ``alkit dashboard`` (or ``make dashboard``) starts it on http://127.0.0.1:8501.

The app only wires widgets to alkit: figures come from ``alkit.viz``, runs from
``alkit.app.worker``, the Play game from ``alkit.app.playground``; every page reads the run store.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# Import the heavy, lazily imported libraries here, once, before any page runs: when two threads (a page's
# script and Streamlit's own serialisation) import pandas at the same moment, Python's import-deadlock
# avoidance can hand one of them a half-initialised module ("partially initialized module 'pandas'").
import dashui  # noqa: E402
import numpy as np  # noqa: E402
import pandas  # noqa: E402, F401
import plotly.graph_objects  # noqa: E402, F401
import streamlit as st  # noqa: E402
import torch  # noqa: E402

# One torch thread unless OMP_NUM_THREADS says otherwise: the Play page's retraining and the background runs
# share the CPU with the server, and on a small machine more threads per tiny model only fight each other.
if not os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(1)


def page_icon(size: int = 64) -> Any:
    """The browser-tab icon, drawn here (a red-and-white target) and served by this server: a ``:material/…:``
    page icon makes the browser fetch an SVG from fonts.gstatic.com, and the dashboard must work offline."""
    from PIL import Image

    yy, xx = np.mgrid[:size, :size]
    r = np.hypot(yy - (size - 1) / 2, xx - (size - 1) / 2) / (size / 2)
    ring = np.floor(r * 5).astype(int)  # 0 = bullseye; 5 and beyond = outside
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[ring % 2 == 0] = (214, 39, 40, 255)
    rgba[ring % 2 == 1] = (255, 255, 255, 255)
    rgba[ring >= 5] = (0, 0, 0, 0)
    return Image.fromarray(rgba, mode="RGBA")


st.set_page_config(page_title="alkit dashboard", page_icon=page_icon(), layout="wide")
# No developer menu (Deploy, Rerun, Clear cache) for a lecture: `alkit dashboard` also passes this on its
# command line (alkit.app.launch), which covers the first page load; this covers a bare `streamlit run`.
st.set_option("client.toolbarMode", "viewer")

RUN_PAGE = st.Page("views/run.py", title="Run", icon=":material/play_circle:", url_path="run")


def _home() -> None:
    """The root URL: Streamlit serves its default page at ``/`` only, so ``/run`` would say "Page not found"
    if Run were the default. The (hidden) default page forwards to Run instead, which then lives at ``/run``."""
    st.switch_page(RUN_PAGE)


PAGES = {
    "Experiments": [
        st.Page(_home, title="alkit", url_path="home", default=True, visibility="hidden"),
        RUN_PAGE,
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
