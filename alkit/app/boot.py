"""``python -m alkit.app.boot run APP [streamlit options]``: Streamlit's own CLI, after a warm-up.

``alkit dashboard`` starts the server through this module so that the heavy imports happen once, in the
server's main thread, before the first browser connects, instead of inside the first visitor's page:
pandas, plotly, torch, and ``torch._dynamo``, which PyTorch imports the first time any optimiser is
built (most of the Play page's first open in a fresh server; README, *Measured costs*). Doing it here, before any script thread exists, also rules out two threads importing the same module at once.
After the warm-up it starts :class:`alkit.app.preload.Preloader` in a daemon thread. This thread loads the
newest run's dataset while the first browser is still loading Streamlit's frontend, and from then on it queues the
Embeddings maps of runs that stored model features. ``ALKIT_PRELOAD=0`` switches it off. Everything after that is
``streamlit.web.cli.main``, unchanged.
"""

from __future__ import annotations

import sys


def warm_up() -> None:
    """Import what the pages need and build one throw-away optimiser (nothing is kept or trained)."""
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)  # pulls in torch._dynamo once
    import alkit.app.lite  # noqa: F401
    import alkit.app.maps  # noqa: F401  (before the preload thread imports it)
    import alkit.app.playground  # noqa: F401
    import alkit.viz.embedding  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    import os

    warm_up()
    if os.environ.get("ALKIT_PRELOAD", "1") != "0":
        from alkit.app import preload

        preload.start()
    from streamlit.web import cli

    sys.argv = ["streamlit", *(sys.argv[1:] if argv is None else argv)]
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
