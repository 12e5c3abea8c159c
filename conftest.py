"""Repository-wide pytest set-up (applies to tests/ and to the notebooks collected by nbmake).

The notebook kernels nbmake starts inherit this process's environment, so the defaults set here
make `pytest --nbmake notebooks` run the lessons the way CI does: smoke mode, solutions filled in,
static figures instead of widgets, one thread per kernel, a throw-away workspace, and no fallback to a user's data folder.
"""

import os
import tempfile

os.environ.setdefault("ALKIT_SMOKE", "1")
os.environ.setdefault("ALKIT_SOLUTIONS", "1")
# Static figures under nbmake: a cell that displays ipywidgets sometimes never returns in a headless
# nbclient run (jupyter/nbclient#312; seen here as kernels idling for minutes), so CI draws each
# widget's figure once with its default values, the same fallback a widget-less frontend gets.
os.environ.setdefault("ALKIT_STATIC", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
if "ALKIT_WORKSPACE" not in os.environ:
    os.environ["ALKIT_WORKSPACE"] = tempfile.mkdtemp(prefix="alkit-nb-workspace-")
