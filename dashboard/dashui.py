"""Widget wiring shared by the dashboard's pages (no alkit logic lives here)."""

from __future__ import annotations

import json
import os
from typing import Any

import streamlit as st

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


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def _dataset(name: str, params_json: str) -> Any:
    from alkit.data import load_dataset

    return load_dataset(name, **json.loads(params_json))


def dataset_of(run: dict) -> Any:
    """The dataset a stored run used (cached), or None with a warning when it cannot be loaded here."""
    cfg = run.get("config") or {}
    try:
        return _dataset(run["dataset"], json.dumps(cfg.get("dataset_params") or {}, sort_keys=True))
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
    """A run selectbox that remembers the choice across pages (``session_state["current_run"]``)."""
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
    return by_id[chosen]


def round_picker(key: str, rounds: list[int], *, label: str = "Round", default: int | None = None) -> int:
    """A slider over the given rounds (a fixed caption when there is only one)."""
    if len(rounds) == 1:
        st.caption(f"{label}: {rounds[0]} (the only one stored)")
        return rounds[0]
    if key in st.session_state and st.session_state[key] not in rounds:
        del st.session_state[key]
    value = rounds[-1] if default is None or default not in rounds else default
    return int(st.select_slider(label, options=rounds, value=value, key=key))


def table(rows: list[dict], **kw: Any) -> None:
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", **kw)
