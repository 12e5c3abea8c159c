"""Embeddings: a 2-D map of the model's features, fitted once and reused for every round."""

from __future__ import annotations

import dashui
import numpy as np
import streamlit as st

from alkit.viz.batch import to_image, upscale
from alkit.viz.embedding import RunEmbeddingMap, embedding_payload, point_status, subsample_keep


@st.cache_resource(show_spinner=False, max_entries=8)
def emb_map(ws: str, run_id: str, method: str, ref_round: int) -> RunEmbeddingMap:
    return RunEmbeddingMap(dashui.store(), run_id, method=method, ref_round=ref_round)


st.title("Embeddings")
store = dashui.store()
runs = [r for r in store.list_runs() if r["n_rounds"] >= 1]
if not runs:
    dashui.show_empty_store()
    st.stop()
run = dashui.pick_run("emb_run", runs=runs)
rounds_all = store.get_rounds(run["run_id"])
rounds = [r["round"] for r in rounds_all if r["has_embeddings"]]
if not rounds:
    st.info("This run stored no embeddings. Start runs with **Store embeddings** > 0 on the Run page, or "
            "`alkit run ... --store-embeddings 2000`.")
    st.stop()

c1, c2, c3 = st.columns(3)
method = c1.radio("Map", ["UMAP", "PCA (instant)"], horizontal=True, key="emb_method",
                  help="UMAP is fitted once (the first fit in a session also compiles numba code: tens of seconds); "
                       "then each round is a fast transform.")
n_show = c2.slider("Points shown", 200, 5000, 2000, step=100, key="emb_n",
                   help="a random subset; this round's selected points are always shown")
ref_key = f"emb_ref_{run['run_id']}"
if ref_key not in st.session_state or st.session_state[ref_key] not in rounds:
    st.session_state[ref_key] = rounds[-1]
ref = c3.selectbox("Fit the map on round", rounds, key=ref_key,
                   help="the map is fitted once on this round's features; other rounds are transformed into it")
r = dashui.round_picker("emb_round", rounds, label="Round")

m_name = "umap" if method == "UMAP" else "pca"
emap = emb_map(dashui.workspace(), run["run_id"], m_name, int(ref))
first = not emap.projector.fitted
with st.spinner(f"Fitting {method} on round {ref}…" if first else f"Mapping round {r}…"):
    pool_index, xy = emap.coords(int(r))
sels = store.get_selections(run["run_id"])
selected = sels.get(r, {}).get("indices", [])
scores = {i: s for i, s in zip(selected, sels.get(r, {}).get("scores", [])) if s is not None}
labeled_before = store.labeled_indices(run["run_id"], r - 1) if r > 0 else []
status = point_status(pool_index, labeled_before, selected)
keep = np.flatnonzero(status == "selected")
rows = subsample_keep(len(pool_index), n_show, keep, seed=0)
ds = dashui.dataset_of(run)
shown = pool_index[rows]
labels = ds.y_train.numpy()[shown] if ds is not None else None
images = [to_image(ds.x_train[i], mean=ds.mean, std=ds.std) for i in shown] if ds is not None else None
pick_key = f"emb_picked_{run['run_id']}_{r}"
payload = embedding_payload(xy[rows], shown, status[rows], labels=labels, scores=scores, images=images,
                            class_names=ds.class_names if ds is not None else None,
                            picked=st.session_state.get(pick_key, []),
                            title=f"{run['strategy']} · round {r} · {len(rows)} of {len(pool_index)} stored points")
st.caption(f"{method} fitted on round {ref} in {emap.projector.fit_seconds:.1f} s; round {r} mapped in "
           f"{emap.transform_seconds.get(r, 0.0):.2f} s. Grey: unlabeled · blue: labeled before round {r} · "
           "red: selected this round. Hover a point to see its image; click one (or drag a lasso) to list them.")
left, right = st.columns([3, 1])
with left:
    picked = dashui.embedding_scatter(payload, key=f"emb_scatter_{run['run_id']}_{r}")
    st.session_state[pick_key] = picked
with right:
    if not picked:
        st.markdown("**Hover** a point: its image, index, class and score. **Click** one or **drag a lasso** "
                    "around some to list them here.")
    else:
        st.markdown(f"**{len(picked)} picked**")
    status_of = dict(zip(shown.tolist(), status[rows].tolist()))
    for i in picked[:12]:
        sc = scores.get(i)
        cls = ds.class_names[int(ds.y_train[i])] if ds is not None else "?"
        img = to_image(ds.x_train[i], mean=ds.mean, std=ds.std) if ds is not None else None
        cap = f"#{i} · {cls} · {status_of.get(i, '?')}" + ("" if sc is None else f" · score {sc:.3g}")
        if img is not None:
            st.image(upscale(img), caption=cap, width=120)
        else:
            st.write(cap)
    if len(picked) > 12:
        st.caption(f"… and {len(picked) - 12} more")
