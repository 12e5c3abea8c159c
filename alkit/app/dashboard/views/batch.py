"""Selected batch: the queried items as tiles, their classes against the pool, spread over rounds."""

from __future__ import annotations

import dashui
import numpy as np
import streamlit as st

from alkit.viz.batch import (
    batch_rows,
    class_histogram_figure,
    diversity_by_round,
    diversity_figure,
    framed,
    is_wrong,
    tile_caption,
    to_image,
    upscale,
)

MAX_TILES = 60
TILE_PX = 112


@st.cache_data(show_spinner="Measuring distances…", max_entries=16)
def diversity(ws: str, run_id: str, last_round: int, ds_name: str) -> dict:
    run = dashui.store().get_run(run_id)
    ds = dashui.dataset_of(run)
    sels = dashui.store().get_selections(run_id)
    return diversity_by_round(ds.x_train, {r: s["indices"] for r, s in sels.items() if r <= last_round})


st.title("Selected batch")
store = dashui.store()
run = dashui.pick_run("batch_run")
if run is None:
    dashui.show_empty_store()
    st.stop()
rounds = store.get_rounds(run["run_id"])
sels = store.get_selections(run["run_id"])
r = dashui.round_picker("batch_round", [x["round"] for x in rounds], label="Round (0 = the initial set)")
ds = dashui.dataset_of(run)
sel = sels.get(r, {"indices": [], "scores": [], "labels": []})
extras = next((x["extras"] for x in rounds if x["round"] == r), {})
pred = extras.get("selected_predicted")
if pred is not None and len(pred) != len(sel["indices"]):
    pred = None
rows = batch_rows(sel["indices"], sel["scores"], sel["labels"], predicted=pred,
                  true_labels=None if ds is None else ds.y_train.numpy(),
                  class_names=None if ds is None else ds.class_names)
n_wrong = sum(bool(is_wrong(row)) for row in rows)
what = "the initial labeled set" if r == 0 else "queried this round, highest score first"
st.caption(f"{len(rows)} items {what}. Under each tile: its **true** class, the class the querying **model** "
           "predicted for it (✗ wrong, ✓ right) and the strategy's **score** (higher: picked first)."
           + (f" **{n_wrong} of {len(rows)}** were predicted wrong (red frame)." if pred is not None and r > 0 else "")
           + ("" if pred is not None or r == 0 else " This run did not record the predictions."))
if ds is not None and rows:
    imgs = [to_image(ds.x_train[row["pool_index"]], mean=ds.mean, std=ds.std) for row in rows[:MAX_TILES]]
    if all(i is not None for i in imgs):
        tiles = [framed(upscale(im, TILE_PX), width=max(2, TILE_PX // 28)) if is_wrong(row) else upscale(im, TILE_PX)
                 for im, row in zip(imgs, rows)]
        dashui.image_grid(tiles, [tile_caption(row) for row in rows[:MAX_TILES]], tile_px=tiles[0].shape[0])
        if len(rows) > MAX_TILES:
            st.caption(f"showing the first {MAX_TILES} of {len(rows)}")
    else:
        st.caption("This dataset's items are not images; see the table below.")
with st.expander("Table", expanded=ds is None or not ds.is_image and ds.input_shape[0] < 16):
    dashui.table(rows, key="batch_table", grid=True)
if ds is not None and rows:
    c1, c2 = st.columns([1, 2])
    lab_before = store.labeled_indices(run["run_id"], r - 1) if r > 0 else []
    mask = np.ones(len(ds.y_train), dtype=bool)
    mask[lab_before] = False
    batch_lab = [row["oracle_label"] for row in rows]
    dashui.chart(class_histogram_figure(batch_lab, ds.y_train.numpy()[mask].tolist(), ds.num_classes,
                                        class_names=ds.class_names, title="Classes: batch vs unlabeled pool"),
                 key="batch_hist", container=c1)
    div = diversity(dashui.workspace(), run["run_id"], rounds[-1]["round"], run["dataset"])
    note = "" if div["pool_points"][0] >= len(ds.y_train) else f" (over {div['pool_points'][0]} random pool items)"
    dashui.chart(diversity_figure(div, highlight=r, title=f"Spread in input space{note}"), key="batch_div",
                 container=c2)
