"""Everything only the dashboard uses: the background run worker, the Play game, light charts, the server.

* :mod:`alkit.app.worker` — :class:`~alkit.app.worker.RunWorker`: a run in a thread, writing to the store;
* :mod:`alkit.app.playground` — "you are the strategy" on a 2-D toy, and its figures in
  :mod:`alkit.app.playground_figures`;
* :mod:`alkit.app.lite` — plotly figures as small SVG charts, and the two browser components in ``web/``;
* :mod:`alkit.app.launch` — where the Streamlit script is (package data), its command line, a test server;
* :mod:`alkit.app.boot` — Streamlit's CLI after a warm-up import;
* ``dashboard/`` — the Streamlit script ``app.py``, ``dashui.py`` and one file per page in ``views/``
  (package data, run by Streamlit, never imported by alkit).

Figures shared with the notebooks live in :mod:`alkit.viz`; nothing outside this package and the CLI imports it.
"""
