"""How many epochs the Embeddings page's AlignedUMAP gets: its time against how well it keeps the features'
neighbourhoods and how still it holds the items rounds share.

    python -m benchmarks.aligned_epochs            # writes benchmarks/results/aligned_epochs.json

The run is the demo's: Margin on digits, seed 0, the digits preset (20 labels, +20 per round, 10 rounds), every
pool item's features stored each round (11 slices of about 1,350 items, 128-d). For each epoch count:
``seconds`` (in this process, numba's cache warmed first), ``knn10_kept`` (per slice 0, 5 and 10: the share of
each item's 10 nearest neighbours in the round's features that are also among its 10 nearest on the map) and
``move_between_rounds`` (mean distance a shared item moves from one slice to the next, over the map's spread).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "aligned_epochs.json"
EPOCHS = (200, 100, 50)


def knn_kept(x: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    from sklearn.neighbors import NearestNeighbors

    a = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]
    b = NearestNeighbors(n_neighbors=k + 1).fit(y).kneighbors(y, return_distance=False)[:, 1:]
    return float(np.mean([len(set(p) & set(q)) / k for p, q in zip(a, b)]))


def move_between_rounds(layout, rounds) -> float:
    out = []
    for r0, r1 in zip(rounds, rounds[1:]):
        (i0, x0), (i1, x1) = layout.at(r0), layout.at(r1)
        row0 = {k: j for j, k in enumerate(i0.tolist())}
        pairs = [(row0[k], j) for j, k in enumerate(i1.tolist()) if k in row0]
        a = x0[[p for p, _ in pairs]]
        b = x1[[q for _, q in pairs]]
        out.append(float(np.linalg.norm(a - b, axis=1).mean() / x1.std(0).mean()))
    return float(np.mean(out))


def main() -> None:
    import torch

    from alkit import ALConfig, ALRun, RunStore
    from alkit.app.maps import numba_dir
    from alkit.viz.embedding import aligned_umap_map, import_umap

    os.environ.setdefault("NUMBA_CACHE_DIR", str(numba_dir()))
    torch.set_num_threads(1)
    ws = Path(tempfile.mkdtemp(prefix="alkit-aligned-"))
    store = RunStore(ws)
    run = ALRun(ALConfig(dataset="digits", strategy="margin", seed=0, store_embeddings=10_000), store=store)
    run.run()
    rounds = [r["round"] for r in store.get_rounds(run.run_id) if r["has_embeddings"]]
    data = [store.get_embeddings(run.run_id, r) for r in rounds]
    import_umap()
    aligned_umap_map([e for _, e in data[:2]], [i for i, _ in data[:2]], rounds[:2], n_epochs=5)  # compile
    res = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "load_avg_start": os.getloadavg()[0]},
           "data": f"digits margin seed 0, {len(rounds)} slices of {len(data[0][0])} items, "
                   f"{data[0][1].shape[1]}-d features", "epochs": {}}
    for ep in EPOCHS:
        t0 = time.perf_counter()
        layout = aligned_umap_map([e for _, e in data], [i for i, _ in data], rounds, n_epochs=ep)
        sec = time.perf_counter() - t0
        kept = [round(knn_kept(np.asarray(data[t][1], dtype=np.float32), layout.at(rounds[t])[1]), 3)
                for t in (0, len(rounds) // 2, len(rounds) - 1)]
        res["epochs"][str(ep)] = {"seconds": round(sec, 1), "knn10_kept": kept,
                                  "move_between_rounds": round(move_between_rounds(layout, rounds), 3)}
        print(f"  {ep} epochs: {sec:.1f} s, 10-NN kept {kept}, move {res['epochs'][str(ep)]['move_between_rounds']}",
              flush=True)
    res["machine"]["load_avg_end"] = os.getloadavg()[0]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
