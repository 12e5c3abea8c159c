"""Replay: step through a stored run round by round, without training anything.

Its map of the pool is honest about spaces, as the Embeddings page is: either this round's own model features
by PCA (instant), or the run's AlignedUMAP over rounds from the workspace's map cache (computed in the
background when it is not there yet, with the PCA map in its place meanwhile). Features of two rounds come from
two models, so no round is pushed through another round's fit.
"""

from __future__ import annotations

import dashui
import streamlit as st

from alkit.app import maps
from alkit.viz.batch import batch_rows, class_histogram_figure, tile_caption, to_image
from alkit.viz.curves import learning_curve_figure
from alkit.viz.embedding import embedding_payload, point_status, subsample_keep
from alkit.viz.runs import per_class_figure

st.title("Replay")
store = dashui.store()
run = dashui.pick_run("replay_run")
if run is None:
    dashui.show_empty_store()
    st.stop()
rid = run["run_id"]
rounds = store.get_rounds(rid)
last = rounds[-1]["round"]
if st.session_state.get("replay_for") != rid:
    st.session_state["replay_for"] = rid
    st.session_state["replay_round"] = 0


def move(to: int) -> None:
    st.session_state["replay_round"] = max(0, min(last, to))


r = int(st.session_state["replay_round"])
c = st.columns([1, 1, 1, 1, 4])
c[0].button("First", icon=":material/first_page:", key="replay_first", on_click=move, args=(0,), disabled=r == 0)
c[1].button("Back", icon=":material/chevron_left:", key="replay_prev", on_click=move, args=(r - 1,), disabled=r == 0)
c[2].button("Next", icon=":material/chevron_right:", key="replay_next", on_click=move, args=(r + 1,),
            disabled=r >= last, type="primary")
c[3].button("Last", icon=":material/last_page:", key="replay_last", on_click=move, args=(last,), disabled=r >= last)
c[4].markdown(f"**Round {r} of {last}** · {rounds[r]['n_labeled']} labels · "
              f"accuracy {rounds[r]['metrics'].get('accuracy', float('nan')):.3f}")

ds = dashui.dataset_of(run)
sels = store.get_selections(rid)
sel = sels.get(r, {"indices": [], "scores": [], "labels": []})
left, right = st.columns(2)
with left:
    upto = rounds[: r + 1]
    curve = {run["strategy"]: [([x["n_labeled"] for x in upto], [x["metrics"]["accuracy"] for x in upto])]}
    fig = learning_curve_figure(curve, title="Accuracy so far")
    fig.update_xaxes(range=[rounds[0]["n_labeled"] - 1, rounds[-1]["n_labeled"] + 1])
    fig.update_yaxes(range=[0, 1])
    dashui.chart(fig, key="replay_curve")
    pc = rounds[r]["metrics"].get("per_class_accuracy")
    if pc:
        pcf = per_class_figure(pc, ds.class_names if ds is not None else None,
                               title=f"Per-class accuracy after round {r}")
        pcf.update_xaxes(type="category")  # a tick label for every class
        dashui.chart(pcf, key="replay_per_class")
with right:
    if rounds[r]["has_embeddings"]:
        emb_rounds = [x["round"] for x in rounds if x["has_embeddings"]]
        which = st.radio("Map", ["own", "aligned"], horizontal=True, key="replay_space",
                         format_func={"own": "This round's model, PCA (instant)",
                                      "aligned": "Aligned UMAP over rounds"}.get,
                         help="Each round trains a new model: its features live in a space of their own. PCA draws "
                              "this round's own features; the aligned UMAP draws every round, aligned through the "
                              "pool items consecutive rounds share.")
        ws = dashui.workspace()
        layout = None
        if which == "aligned":
            spec = maps.MapSpec.for_run(run, "aligned", rounds=emb_rounds)
            layout = maps.cached(spec, ws, store)
            if layout is None:
                svc = maps.service(ws)
                svc.request(spec, urgent=True)

                def waiting() -> None:
                    s = svc.state(spec)
                    if s.state in ("done", "unknown"):
                        st.rerun()
                    if s.state == "failed":
                        st.error(f"Computing the aligned map failed: {s.error}")
                        return
                    st.info("Aligned UMAP: computing… in the background (this page redraws itself). Meanwhile: "
                            "this round's model features, PCA.", icon=":material/hourglass_top:")

                st.fragment(run_every=2.0)(waiting)()
        if layout is None:
            layout, _ = maps.compute(maps.MapSpec.for_run(run, "round", method="pca", ref_round=r), ws, store)
            where = f"Round {r}'s own model features, PCA"
        else:
            where = f"Aligned UMAP over rounds {emb_rounds[0]}–{emb_rounds[-1]}, round {r}"
        pidx, xy = layout.at(r)
        status = point_status(pidx, store.labeled_indices(rid, r - 1) if r > 0 else [], sel["indices"])
        rows_ = subsample_keep(len(pidx), 1500, (status != "unlabeled").nonzero()[0])  # every labeled and selected one
        scores = {i: s for i, s in zip(sel["indices"], sel["scores"]) if s is not None}
        shown = pidx[rows_]
        payload = embedding_payload(
            xy[rows_], shown, status[rows_], labels=None if ds is None else ds.y_train.numpy()[shown],
            scores=scores, class_names=None if ds is None else ds.class_names, height=420,
            images=None if ds is None else [to_image(ds.x_train[i], mean=ds.mean, std=ds.std) for i in shown],
            title=where)
        if r == 0:  # round 0 queries nothing: its "batch" is the initial labeled set
            for g in payload["groups"]:
                if g["name"] == "selected":
                    g["name"] = "initial"
        dashui.embedding_scatter(payload, key=f"replay_emb_{rid}_{r}")
    if ds is not None and sel["indices"]:
        brows = batch_rows(sel["indices"], sel["scores"], sel["labels"], true_labels=ds.y_train.numpy(),
                           class_names=ds.class_names,
                           predicted=rounds[r]["extras"].get("selected_predicted"))
        imgs = [to_image(ds.x_train[b["pool_index"]], mean=ds.mean, std=ds.std) for b in brows[:30]]
        if all(i is not None for i in imgs):
            st.markdown("**The batch**" if r else "**The initial set**")
            dashui.image_grid(imgs, [tile_caption(b) for b in brows[:30]], tile_px=80)
        what = "batch" if r else "initial set"
        dashui.chart(class_histogram_figure([b["oracle_label"] for b in brows], ds.y_train.tolist(),
                                            ds.num_classes, class_names=ds.class_names, batch_name=what,
                                            title=f"Classes: {what} vs whole pool"), key="replay_hist")
