"""Widget wiring shared by the dashboard's pages (no alkit logic lives here)."""

from __future__ import annotations

import json
import os
from typing import Any

import streamlit as st

from alkit.app import preload
from alkit.store import RunStore, resolve_workspace

EMPTY_HELP = """
**The run store is empty.** Runs appear here as soon as they write their first round.

* Start one on the **Run** page (choose dataset, strategy, budget, then *Start*), or
* from a terminal: `alkit run --dataset digits --strategy entropy --store-embeddings 1000`
  or `alkit demo` (every cheap strategy, 3 seeds).

The dashboard reads `{path}` and keeps working while runs write to it.
"""


def workspace() -> str:
    return str(resolve_workspace(os.environ.get("ALKIT_WORKSPACE") or None))


@st.cache_resource(show_spinner=False)
def _store(ws: str) -> RunStore:
    return RunStore(ws, readonly=True)


def store() -> RunStore:
    """The read-only store of this workspace (one shared connection; WAL: writers never block it)."""
    return _store(workspace())


def dataset_params(run: dict) -> str:
    """The dataset parameters a stored run used, as sorted JSON text (``{}`` for the defaults)."""
    cfg = run.get("config")
    if cfg is None:  # a list_runs row: the config lives in the run itself
        cfg = store().get_run(run["run_id"]).get("config") or {}
    return json.dumps(cfg.get("dataset_params") or {}, sort_keys=True)


def dataset_of(run: dict) -> Any:
    """The dataset a stored run used (with its parameters; loaded once per server process by
    :func:`alkit.app.preload.dataset`, which the server starts loading for the newest run before the first
    visit), or None with a warning when it cannot be loaded here."""
    params = dataset_params(run)
    try:
        if preload.is_loaded(run["dataset"], params):
            return preload.dataset(run["dataset"], params)
        with st.spinner(f"Loading the dataset {run['dataset']}…"):
            return preload.dataset(run["dataset"], params)
    except Exception as exc:  # noqa: BLE001 - shown to the user
        st.warning(f"Cannot load dataset {run['dataset']!r} here ({exc}); images and true labels are hidden.")
        return None


def show_empty_store() -> None:
    st.info(EMPTY_HELP.format(path=store().path))


def run_label(r: dict) -> str:
    acc = r.get("last_accuracy")
    acc_s = "" if acc is None else f" · acc {acc:.3f}"
    name = f" · {r['name']}" if r.get("name") else ""
    return (f"{r['run_id']} · {r['dataset']} · {r['strategy']} · seed {r['seed']} · {r['status']} · "
            f"{r['n_rounds']} rounds{acc_s}{name}")


def pick_run(key: str, *, runs: list[dict] | None = None, label: str = "Run", min_rounds: int = 1) -> dict | None:
    """A run selectbox that remembers the choice across pages (``session_state["current_run"]``); the chosen
    run's ``list_runs`` row with its ``config`` added."""
    runs = store().list_runs() if runs is None else runs
    runs = [r for r in runs if r["n_rounds"] >= min_rounds]
    if not runs:
        return None
    ids = [r["run_id"] for r in runs]
    current = st.session_state.get("current_run")
    index = ids.index(current) if current in ids else 0
    by_id = {r["run_id"]: r for r in runs}
    chosen = st.selectbox(label, ids, index=index, key=key, format_func=lambda i: run_label(by_id[i]))
    st.session_state["current_run"] = chosen
    return {**by_id[chosen], "config": store().get_run(chosen).get("config") or {}}


def round_picker(key: str, rounds: list[int], *, label: str = "Round", default: int | None = None) -> int:
    """A slider over the given rounds (a fixed caption when there is only one)."""
    if len(rounds) == 1:
        st.caption(f"{label}: {rounds[0]} (the only one stored)")
        return rounds[0]
    if key in st.session_state and st.session_state[key] not in rounds:
        del st.session_state[key]
    value = rounds[-1] if default is None or default not in rounds else default
    return int(st.select_slider(label, options=rounds, value=value, key=key))


def table(rows: list[dict], *, key: str | None = None, grid: bool = False) -> None:
    """A table of dicts: small ones as static markdown (no data-grid script for a fresh tab to load),
    ``grid=True`` for Streamlit's sortable, scrollable data grid (the Run page's list of runs)."""
    if not rows:
        return
    if grid:
        st.dataframe(rows, hide_index=True, width="stretch", key=key)
        return
    cols = list(rows[0])

    def cell(v: Any) -> str:
        if isinstance(v, float):
            v = f"{v:.4g}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in cols) + " |" for r in rows]
    st.markdown("\n".join(lines))


_LITE: Any = None


def interactive_charts() -> bool:
    """The sidebar switch: plotly charts (zoom, pan, export) instead of the light SVG ones."""
    return bool(st.session_state.get("plotly_charts", False))


def chart(fig: Any, *, key: str, container: Any = None) -> None:
    """Draw a plotly figure from :mod:`alkit.viz`.

    By default a figure that :func:`alkit.app.lite.lite_spec` supports (lines, bands, markers, bars) is
    drawn by alkit's small SVG component, which a fresh browser tab shows at once; others, and every
    figure when the sidebar's *Interactive plotly charts* is on, go to ``st.plotly_chart`` (whose
    4.7 MB script a fresh tab must load first).
    """
    global _LITE
    where = st if container is None else container
    spec = None
    if not interactive_charts():
        from alkit.app.lite import lite_spec

        spec = lite_spec(fig)
    if spec is None:
        where.plotly_chart(fig, key=key)
        return
    if _LITE is None:
        from alkit.app.lite import LITE_CSS, LITE_JS

        _LITE = st.components.v2.component("alkit_lite_chart", js=LITE_JS.read_text(), css=LITE_CSS.read_text())
    with where.container():
        _LITE(key=key, data=spec)


_SCATTER: Any = None


def embedding_scatter(payload: dict, *, key: str) -> list[int]:
    """Mount alkit's canvas scatter (hover shows the image; click or lasso picks) and return the picked
    pool indices. ``payload`` comes from :func:`alkit.viz.embedding.embedding_payload`."""
    global _SCATTER
    if _SCATTER is None:
        from alkit.app.lite import SCATTER_CSS, SCATTER_JS

        _SCATTER = st.components.v2.component("alkit_embedding_scatter", js=SCATTER_JS.read_text(),
                                              css=SCATTER_CSS.read_text())
    result = _SCATTER(key=key, data=payload, default={"picked": []}, on_picked_change=lambda: None)
    picked = getattr(result, "picked", None) or []
    return [int(i) for i in picked]


def image_grid(images: list, captions: list[str], *, tile_px: int = 96) -> None:
    """Pictures (``(H, W, 3)`` uint8, from :func:`alkit.viz.batch.to_image`) in a wrapping grid with
    captions; enlarged with sharp pixels (nearest neighbour)."""
    from alkit.viz.batch import upscale

    if images:
        st.image([upscale(im, tile_px) for im in images], caption=list(captions), width=tile_px)
