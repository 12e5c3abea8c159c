"""Embeddings: where the pool's items lie on a 2-D map, round by round, in a space the page names.

Each round trains a fresh model, so two rounds' features live in different spaces. The page offers
three maps (:data:`alkit.viz.embedding.SPACES`) and says on the page which one it draws:

* **Aligned UMAP over rounds**: umap-learn's AlignedUMAP, one slice per round of that round's own
  model features, consecutive slices aligned through the pool items both rounds stored;
* **Input space**: one map of the dataset's raw inputs, the same for every round and every run of the
  dataset, so two strategies can be shown side by side on it;
* **One round's model features**: every point placed by one chosen round's model.

UMAP maps are computed in the background (:mod:`alkit.app.maps`, also as the dashboard's runs finish
their rounds) and kept under ``<workspace>/cache/maps``; until a map is there the page says since when it
is being computed and refreshes itself. Meanwhile the page draws an instant PCA map in its place, named as such
(the same space; for the aligned map, which has no PCA form, the shown round's own model features). PCA (instant) is
computed in the page. How long a map took is read from the map itself and shown in the caption.
"""

from __future__ import annotations

import time

import dashui
import numpy as np
import streamlit as st

from alkit.app import maps
from alkit.viz.batch import to_image, upscale
from alkit.viz.embedding import embedding_payload, point_status, subsample_keep

LABELS = {
    "aligned": "Aligned UMAP over rounds",
    "input": "Input space (same for every run of the dataset)",
    "round": "One round's model features",
}
MEANING = {
    "aligned": "One UMAP per round, each of **that round's own model features**; consecutive rounds are pulled "
               "into register through the pool items both stored. A point moves between rounds as far as its "
               "neighbourhood in the models' features changed; the axes mean nothing by themselves.",
    "input": "One map of the dataset's **raw inputs** (pixels): the same map for every round and every run of "
             "this dataset. Only which points are labeled and selected changes, so two strategies can be "
             "compared point for point.",
    "round": "Every point placed by **the model of round {ref}**; the other rounds are drawn on the same points, "
             "only which are labeled and selected changes.",
}
METHOD = {"UMAP": "umap", "PCA (instant)": "pca"}

st.title("Embeddings")
store = dashui.store()
runs = [r for r in store.list_runs() if r["n_rounds"] >= 1]
if not runs:
    dashui.show_empty_store()
    st.stop()
run = dashui.pick_run("emb_run", runs=runs)
rid = run["run_id"]
rounds_all = store.get_rounds(rid)
all_rounds = [r["round"] for r in rounds_all]
emb_rounds = [r["round"] for r in rounds_all if r["has_embeddings"]]
spaces = ["aligned", "input", "round"] if emb_rounds else ["input"]
if st.session_state.get("emb_space") not in spaces:
    st.session_state["emb_space"] = spaces[0]

c1, c2, c3 = st.columns([3, 2, 2])
space = c1.radio("Map", spaces, format_func=LABELS.get, key="emb_space",
                 help="Features of different rounds come from different models: each map says which space it draws.")
if not emb_rounds:
    c1.caption("This run stored no model features (start runs with **Store embeddings** > 0 on the Run page, or "
               "`alkit run ... --store-embeddings 2000`); the input-space map needs none.")
if space == "aligned":
    c2.markdown("**Method**  \nUMAP (AlignedUMAP)")
    method = "umap"
else:
    method = METHOD[c2.radio("Method", list(METHOD), horizontal=True, key="emb_method",
                             help="UMAP is computed in the background and kept on disk; PCA is exact and instant.")]
ds = dashui.dataset_of(run)
color_by = c3.radio("Colour by", ["status", "class"], horizontal=True, key="emb_color",
                    format_func={"status": "Status", "class": "Class"}.get,
                    help="status: unlabeled / labeled before this round / selected this round; class: the true "
                         "class, with the labeled and selected points ringed")
if color_by == "class" and ds is None:
    color_by = "status"

c4, c5 = st.columns(2)
n_show = c4.slider("Points shown", 200, 5000, 5000, step=100, key="emb_n",
                   help="a seeded random subset (up to 5,000, with each point's picture for hover); the labeled and "
                        "this round's selected points are always shown")
ref = None
other = None
if space == "round":
    ref_key = f"emb_ref_{rid}"
    if st.session_state.get(ref_key) not in emb_rounds:
        st.session_state[ref_key] = emb_rounds[-1]
    ref = int(c5.selectbox("Features of round", emb_rounds, key=ref_key,
                           help="the model whose features place every point"))
elif space == "input":
    peers = [x for x in runs if x["dataset"] == run["dataset"] and x["run_id"] != rid
             and dashui.dataset_params(x) == dashui.dataset_params(run)]
    by_id = {x["run_id"]: x for x in peers}
    pick = c5.selectbox("Side by side with", [""] + list(by_id), key="emb_other",
                        format_func=lambda i: "—" if not i else dashui.run_label(by_id[i]),
                        help="another run of this dataset, drawn at the same round on the same map")
    other = by_id.get(pick) if pick else None
else:
    c5.caption("Side by side: choose the input-space map, which every run of a dataset shares.")
r = dashui.round_picker("emb_round", emb_rounds if space == "aligned" else all_rounds, label="Round")
st.caption(MEANING[space].format(ref=ref))

ws = dashui.workspace()
if space == "input" and ds is None:
    st.error(f"The input-space map needs the dataset {run['dataset']!r}, which cannot be loaded here.")
    st.stop()
spec = maps.MapSpec.for_run(run, space, method=method, rounds=emb_rounds, ref_round=ref)
layout = maps.cached(spec, ws, store, dataset=ds)
if layout is None and method == "pca":
    layout, _ = maps.compute(spec, ws, store, dataset=ds)
pending = None  # the UMAP map being computed while an instant PCA map stands in for it
if layout is None:
    svc = maps.service(ws)
    svc.request(spec, urgent=True)
    pending = space
    # meanwhile: the same space by PCA, or (the aligned map has no PCA form) this round's own model features by PCA
    stand_in = (maps.MapSpec.for_run(run, "round", method="pca", ref_round=r) if space == "aligned"
                else maps.MapSpec.for_run(run, space, method="pca", rounds=emb_rounds, ref_round=ref))

    # the fragment reruns this every 2 s after the names below have been rebound to the stand-in's: bind them now
    def waiting(space: str = space, method: str = method, stand_in: maps.MapSpec = stand_in, r: int = r) -> None:
        s = svc.state(spec)
        if s.state in ("done", "unknown"):
            st.rerun()
        if s.state == "failed":
            st.error(f"Computing the map failed: {s.error}")
            if st.button("Try again", key="emb_retry"):
                svc.forget_failure(spec)
                st.rerun()
            return
        ago = max(0.0, time.time() - (s.since or time.time()))
        what = "started" if s.state == "computing" else "queued"
        st.info(f"**{LABELS[space]}** ({method.upper()}): computing… ({what} {ago:.0f} s ago) in the background; "
                "this page redraws itself when it is ready. Meanwhile: "
                f"**{LABELS[stand_in.space].split(' (')[0]}" + (f" (round {r})" if stand_in.space == "round" else "")
                + ", PCA (instant)**.", icon=":material/hourglass_top:")

    st.fragment(run_every=2.0)(waiting)()
    layout, _ = maps.compute(stand_in, ws, store, dataset=ds)
    space, method, ref = stand_in.space, "pca", stand_in.ref_round

sels = store.get_selections(rid)


def status_of_run(run_id: str, rnd: int, selections: dict, pidx: np.ndarray) -> tuple[np.ndarray, dict, list]:
    selected = selections.get(rnd, {}).get("indices", [])
    scores = {i: s for i, s in zip(selected, selections.get(rnd, {}).get("scores", [])) if s is not None}
    labeled_before = store.labeled_indices(run_id, rnd - 1) if rnd > 0 else []
    return point_status(pidx, labeled_before, selected), scores, selected


pidx, xy = layout.at(r)
status, scores, selected = status_of_run(rid, r, sels, pidx)
panels = [(run, r, status, scores, selected)]
if other is not None:
    o_rounds = [x["round"] for x in store.get_rounds(other["run_id"])]
    r_o = max([x for x in o_rounds if x <= r], default=o_rounds[0])
    o_status, o_scores, o_sel = status_of_run(other["run_id"], r_o, store.get_selections(other["run_id"]), pidx)
    panels.append((other, r_o, o_status, o_scores, o_sel))
keep = np.flatnonzero(np.any([p[2] != "unlabeled" for p in panels], axis=0))
rows = subsample_keep(len(pidx), n_show, keep, seed=0)
shown = pidx[rows]
labels = ds.y_train.numpy()[shown] if ds is not None else None
images = [to_image(ds.x_train[i], mean=ds.mean, std=ds.std) for i in shown] if ds is not None else None

info = layout.info
if pending is not None:
    how = f"Shown while the {LABELS[pending].split(' (')[0]} map is computed: " + (
        f"PCA of the raw inputs of {info['n_fit']:,} of the {info['n_points']:,} pool items" if space == "input"
        else f"PCA of round {ref}'s model features of {info['n_fit']:,} items")
elif space == "aligned":
    how = (f"AlignedUMAP over rounds {info['rounds'][0]}–{info['rounds'][-1]} ({len(info['rounds'])} slices, up to "
           f"{info['n_fit']:,} points each), computed in {info['seconds']:.1f} s")
elif space == "input":
    how = (f"{method.upper()} of the raw inputs fitted on {info['n_fit']:,} of the {info['n_points']:,} pool items"
           + ("" if info["n_fit"] == info["n_points"] else " (a seeded subset; the others placed into the same map)")
           + f", computed in {info['seconds']:.1f} s")
else:
    how = f"{method.upper()} of round {ref}'s model features of {info['n_fit']:,} items, computed in {info['seconds']:.1f} s"
missing = len(set(selected) - set(pidx.tolist()))
st.caption(how + (". " if pending else " (kept in the workspace's map cache). ")
           + ("Grey: unlabeled · blue: labeled before the round · red: selected in it. " if color_by == "status" else
              "Colour: true class · dark ring: labeled before the round · red diamond: selected in it. ")
           + "Hover a point to see its image; click one (or drag a lasso) to list them."
           + (f" {missing} of the round's {len(selected)} selected items are not drawn ("
              + (f"no features of them stored at round {ref})." if space == "round" else "UMAP found no neighbour "
                 "for them).") if missing else ""))


def picked_list(picked: list[int], status_by: dict, scores_by: dict, limit: int = 12) -> None:
    if not picked:
        st.markdown("**Hover** a point: its image, index, class and score. **Click** one or **drag a lasso** "
                    "around some to list them here.")
        return
    st.markdown(f"**{len(picked)} picked**")
    for i in picked[:limit]:
        sc = scores_by.get(i)
        cls = ds.class_names[int(ds.y_train[i])] if ds is not None else "?"
        img = to_image(ds.x_train[i], mean=ds.mean, std=ds.std) if ds is not None else None
        cap = f"#{i} · {cls} · {status_by.get(i, '?')}" + ("" if sc is None else f" · score {sc:.3g}")
        if img is not None:
            st.image(upscale(img), caption=cap, width=120)
        else:
            st.write(cap)
    if len(picked) > limit:
        st.caption(f"… and {len(picked) - limit} more")


def draw(p_run: dict, p_round: int, p_status: np.ndarray, p_scores: dict, height: int) -> list[int]:
    pick_key = f"emb_picked_{p_run['run_id']}_{p_round}_{space}"
    title = (f"{p_run['strategy']} · round {p_round} · {len(rows)} of {len(pidx)} points · "
             f"{LABELS[space].split(' (')[0]}" + (" · PCA" if method == "pca" else ""))
    payload = embedding_payload(xy[rows], shown, p_status[rows], labels=labels, scores=p_scores, images=images,
                                class_names=ds.class_names if ds is not None else None,
                                picked=st.session_state.get(pick_key, []), title=title, height=height,
                                color_by=color_by)
    picked = dashui.embedding_scatter(payload, key=f"emb_scatter_{p_run['run_id']}_{p_round}_{space}_{color_by}")
    st.session_state[pick_key] = picked
    return picked


if len(panels) == 1:
    left, right = st.columns([3, 1])
    with left:
        picked = draw(run, r, status, scores, 560)
    with right:
        picked_list(picked, dict(zip(shown.tolist(), status[rows].tolist())), scores)
else:
    cols = st.columns(2)
    for col, (p_run, p_round, p_status, p_scores, _) in zip(cols, panels):
        with col:
            picked = draw(p_run, p_round, p_status, p_scores, 480)
            picked_list(picked, dict(zip(shown.tolist(), p_status[rows].tolist())), p_scores, limit=6)
    if panels[1][1] != r:
        st.caption(f"{other['strategy']} has no round {r}: its last round, {panels[1][1]}, is drawn.")

# The run's other UMAP maps, for a switch of map without a wait (once per run and session).
if st.session_state.get("emb_prefetched") != rid:
    st.session_state["emb_prefetched"] = rid
    for s in maps.run_specs(store, run):
        if maps.cached(s, ws, store, dataset=ds) is None:
            maps.service(ws).request(s)
