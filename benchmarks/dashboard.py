"""Dashboard benchmark: page-ready times with a store of 10 runs, and the embedding map's fit and refresh.

    python -m benchmarks.dashboard            # writes benchmarks/results/dashboard.json

Targets (issue "Dashboard"): a page is ready in <= 3 s with a store of 10 runs; the embedding view
refreshes in <= 5 s for 5,000 displayed points after the first UMAP fit (whose time is reported too).

What is measured
----------------
* ``pages``: each page rendered by ``streamlit.testing`` in a fresh session (the server-side script run:
  store reads, figure building, serialisation), cold (first time in the process: imports, dataset
  load) and warm (median of later fresh sessions, what a second visitor or a page switch costs).
  Embeddings is timed in the browser only (its first visit fits UMAP: see ``embedding``).
* ``browser`` (when Debian's Chromium and playwright are present): the same pages in headless Chromium
  against ``alkit dashboard``, timed until the page's title and first chart are drawn and Streamlit is
  idle; ``open:`` = a new tab of the same browser opened by URL (the app's JavaScript boots and a new
  session starts; the browser's HTTP cache already holds the scripts), ``first_open:`` = the same in a
  new browser profile (empty cache: a first-ever visit), ``switch:`` = a click in the sidebar of an
  open tab (``cold`` = first visit, ``warm`` = median of later visits). ``browser_baseline``: a bare
  one-title Streamlit page opened both ways on the same machine, the floor set by Streamlit's own boot.
* ``embedding``: in a fresh process, a run with >= 5,000 stored embeddings (Fashion-MNIST when the
  Debian package is installed, else a labelled synthetic stand-in): ``import umap``, the aligned map
  over its rounds (numba compilation included, unless ``NUMBA_CACHE_DIR`` holds it), then per round
  change: the round's slice + 5,000-point subsample + the canvas scatter's data with every shown
  point's picture in one PNG sprite sheet + JSON serialisation (what the page sends to the browser).
* ``--only-first-open`` (``benchmarks/results/embeddings_first_open.json``): the Embeddings page's first
  open on that run in a fresh dashboard process, with no map and no numba cache, with numba's cache
  only, and with the map on disk (:func:`first_open_embeddings`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alkit.app.launch import dashboard_app

RESULTS = Path(__file__).resolve().parent / "results" / "dashboard.json"
APP = dashboard_app()
PAGES = ["run", "curves", "batch", "theory", "label", "play", "replay"]
BROWSER_PAGES = PAGES + ["embeddings"]  # its UMAP map is fitted by a warm-up visit first
STRATEGIES = ["random", "entropy", "margin", "kcenter", "badge"]


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def build_store(ws: Path) -> list[str]:
    """10 digits runs (5 strategies x 2 seeds, 11 rounds each, 500 stored embeddings per round; the last one
    also logs the bound terms, so the Theory page has something to draw)."""
    import torch

    from alkit import ALConfig, ALRun, RunStore, TrainConfig

    torch.set_num_threads(1)
    store = RunStore(ws)
    ids = []
    for seed in (0, 1):
        for strat in STRATEGIES:
            cfg = ALConfig(dataset="digits", strategy=strat, initial=20, query=20, rounds=10, seed=seed,
                           train=TrainConfig(epochs=5, batch_size=32, min_steps=40), store_embeddings=500,
                           theory_terms=(seed, strat) == (1, STRATEGIES[-1]))  # the newest run: the pages' default
            run = ALRun(cfg, store=store)
            run.run()
            ids.append(run.run_id)
    store.close()
    return ids


def time_pages(ws: Path, repeats: int = 3) -> dict:
    from streamlit.testing.v1 import AppTest

    os.environ["ALKIT_WORKSPACE"] = str(ws)
    out = {}
    for page in PAGES:
        times = []
        for _ in range(repeats):
            at = AppTest.from_file(str(APP), default_timeout=300).run()
            t0 = time.perf_counter()
            at.switch_page(f"views/{page}.py").run()
            times.append(time.perf_counter() - t0)
            if at.exception:
                raise RuntimeError(f"page {page}: {at.exception[0].value}")
        out[page] = {"cold_s": round(times[0], 3), "warm_s": round(statistics.median(times[1:]), 3),
                     "charts": len(at.get("plotly_chart")) + len(at.get("bidi_component"))}
        print(f"  page {page:<8} cold {times[0]:6.2f} s   warm {out[page]['warm_s']:6.2f} s", flush=True)
    return out


CHROMIUM = "/usr/bin/chromium"


def _browser_available() -> bool:
    """Debian's Chromium and the playwright package (never ``playwright install``)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


def _timed_open(context: Any, url: str, wait: Any) -> float:
    """Seconds from opening ``url`` in a new tab of ``context`` until ``wait(page)`` returns; the tab is closed."""
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url)
    wait(page)
    seconds = time.perf_counter() - t0
    page.close()
    return seconds


def time_browser(ws: Path) -> dict | None:
    if not _browser_available():
        return None
    from playwright.sync_api import sync_playwright

    from alkit.app.launch import dashboard_server

    ready_js = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                " && !document.querySelector('[data-testid=\"stSkeleton\"]')"
                " && document.querySelector('[data-testid=\"stMainBlockContainer\"] h1') !== null")
    out = {}
    with dashboard_server(ws) as url:
        titles = {"run": "Run", "curves": "Learning curves", "batch": "Selected batch", "theory": "Theory",
                  "label": "Label", "play": "Play: you are the strategy", "replay": "Replay",
                  "embeddings": "Embeddings"}
        links = {"run": "Run", "curves": "Learning curves", "batch": "Selected batch", "theory": "Theory",
                 "label": "Label", "play": "Play", "replay": "Replay", "embeddings": "Embeddings"}

        def wait_ready(page: Any, name: str) -> None:
            page.wait_for_function(
                "(t) => { const h = document.querySelector('[data-testid=\"stMainBlockContainer\"] h1');"
                " return h !== null && h.textContent.trim() === t; }", arg=titles[name], timeout=120_000)
            page.wait_for_timeout(100)
            page.wait_for_function(ready_js, timeout=120_000)
            if name not in ("run", "label"):  # the first chart drawn: alkit's SVG / canvas, or plotly's
                page.locator(".alk-lite-svg, canvas.alk-canvas, [data-testid='stPlotlyChart'] .main-svg").first.wait_for(
                    timeout=300_000)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            # 0. warm-up: the Embeddings page's first visit fits UMAP in the server (numba compilation
            # included); that fit is cached for later visits and reported below (embedding.first_fit_s)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"{url}/embeddings")
            wait_ready(page, "embeddings")
            out["first_visit:embeddings (UMAP fit)"] = {"cold_s": round(time.perf_counter() - t0, 3)}
            page.close()
            # 1. a page opened by URL in a new tab. ``first_open``: a new browser profile each time (empty
            # HTTP cache: the very first visit downloads Streamlit's ~5 MB of JavaScript); ``open``: a new
            # tab of the same browser (the cache holds the app's scripts, as for a user who has opened the
            # dashboard before). Either way the app's JavaScript boots and a new session starts.
            shared = browser.new_context(viewport={"width": 1400, "height": 1000})
            warm = shared.new_page()
            warm.goto(url)
            wait_ready(warm, "run")
            warm.close()
            for page_name in BROWSER_PAGES:
                cold, times = [], []
                for _ in range(3):
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                    cold.append(_timed_open(ctx, f"{url}/{page_name}", lambda pg, n=page_name: wait_ready(pg, n)))
                    ctx.close()
                    times.append(_timed_open(shared, f"{url}/{page_name}", lambda pg, n=page_name: wait_ready(pg, n)))
                out[f"first_open:{page_name}"] = {"cold_s": round(cold[0], 3),
                                                  "warm_s": round(statistics.median(cold[1:]), 3)}
                out[f"open:{page_name}"] = {"cold_s": round(times[0], 3), "warm_s": round(statistics.median(times[1:]), 3)}
                print(f"  new tab       {page_name:<10} first {times[0]:6.2f} s   later {statistics.median(times[1:]):6.2f} s"
                      f"   (empty cache: {cold[0]:5.2f} / {statistics.median(cold[1:]):5.2f} s)", flush=True)
            shared.close()
            # 2. one tab, switching pages from the sidebar (what a user does once the app is open)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            wait_ready(page, "run")
            switch: dict[str, list[float]] = {n: [] for n in BROWSER_PAGES}
            for _ in range(3):
                for page_name in BROWSER_PAGES[1:] + BROWSER_PAGES[:1]:
                    t0 = time.perf_counter()
                    page.get_by_role("link", name=links[page_name], exact=True).click()
                    wait_ready(page, page_name)
                    switch[page_name].append(time.perf_counter() - t0)
            for page_name, times in switch.items():
                out[f"switch:{page_name}"] = {"cold_s": round(times[0], 3),
                                              "warm_s": round(statistics.median(times[1:]), 3)}
                print(f"  sidebar switch {page_name:<8} first {times[0]:6.2f} s   later "
                      f"{statistics.median(times[1:]):6.2f} s", flush=True)
            browser.close()
    return out


def bare_streamlit_baseline(repeats: int = 4) -> dict | None:
    """The floor under every page: a one-title Streamlit page (no alkit) opened the same two ways.

    What is left above it on a dashboard page is alkit's share (store reads, figures, its components)."""
    if not _browser_available():
        return None
    from playwright.sync_api import sync_playwright

    from alkit.app.launch import streamlit_server

    tmp = Path(tempfile.mkdtemp(prefix="alkit-bare-streamlit-"))
    (tmp / "app.py").write_text('import streamlit as st\nst.title("Bare")\nst.write("one line")\n')

    def command(port: int) -> tuple[list[str], dict[str, str]]:
        return ([sys.executable, "-m", "streamlit", "run", str(tmp / "app.py"), "--server.address", "127.0.0.1",
                 "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
                dict(os.environ))

    ready = ("() => { const h = document.querySelector('[data-testid=\"stMainBlockContainer\"] h1');"
             " return h !== null && !document.querySelector('[data-testid=\"stStatusWidget\"]'); }")
    out: dict[str, list[float]] = {"open": [], "first_open": []}
    with streamlit_server(command) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        shared = browser.new_context(viewport={"width": 1400, "height": 1000})
        for _ in range(repeats + 1):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            for kind, c in (("first_open", ctx), ("open", shared)):
                out[kind].append(_timed_open(c, url, lambda pg: pg.wait_for_function(ready, timeout=60_000)))
            ctx.close()
        browser.close()
    # the shared profile's first open fills its cache: report the later ones
    res = {"open_s": round(statistics.median(out["open"][1:]), 3),
           "first_open_s": round(statistics.median(out["first_open"]), 3)}
    print(f"  bare Streamlit page (no alkit): new tab {res['open_s']:.2f} s, empty cache {res['first_open_s']:.2f} s",
          flush=True)
    return res


def browser_embedding(ws: Path) -> dict | None:
    """The Embeddings page in headless Chromium on the big run: 5,000 points shown, time per round change
    (server: transform, subsample, sprite sheet of 5,000 pictures; browser: transfer and canvas redraw)."""
    if not _browser_available():
        return None
    from playwright.sync_api import sync_playwright

    from alkit.app.launch import dashboard_server

    out: dict[str, Any] = {}
    with dashboard_server(ws) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        page.goto(f"{url}/embeddings")
        page.locator(".alk-root[data-ready='1']").first.wait_for(timeout=600_000)
        out["first_open_with_umap_fit_s"] = round(time.perf_counter() - t0, 3)

        def settled(text: str) -> None:
            page.wait_for_function(
                "(t) => { const r = [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)"
                ".flatMap(s => [...s.querySelectorAll('.alk-root')]);"
                " return r.length === 1 && r[0].querySelector('.alk-title').textContent.includes(t)"
                " && !document.querySelector('[data-testid=\"stStatusWidget\"]'); }", arg=text, timeout=300_000)

        # Streamlit's sliders are native range inputs (the value lives in ``value``, not an aria attribute)
        points = page.get_by_role("slider", name="Points shown")
        points.focus()
        page.keyboard.press("End")  # 5,000
        settled("5000 of")
        out["points"] = int(page.locator(".alk-root").first.get_attribute("data-points"))
        times = []
        for _ in range(3):
            rnd = page.get_by_role("slider", name="Round")
            rnd.focus()
            before = int(rnd.input_value())
            t0 = time.perf_counter()
            page.keyboard.press("ArrowLeft")
            settled(f"round {before - 1} ")
            times.append(round(time.perf_counter() - t0, 3))
        out["round_change_s"] = times
        browser.close()
    print(f"  browser: embeddings page, {out['points']} points, round change {out['round_change_s']} s", flush=True)
    return out


def build_big_run(ws: Path) -> tuple[str, str]:
    """A run with >= 5,000 stored embeddings per round: Fashion-MNIST if installed, else synthetic clusters."""
    import numpy as np
    import torch

    from alkit import ALConfig, ALRun, RunStore, TrainConfig

    torch.set_num_threads(2)
    store = RunStore(ws)
    try:
        cfg = ALConfig(dataset="fashion_mnist", strategy="random", initial=1000, query=500, rounds=3, seed=0,
                       train=TrainConfig(epochs=1, batch_size=64), store_embeddings=5000)
        run = ALRun(cfg, store=store)
        run.run()
        return run.run_id, "fashion_mnist (LeNet features, real training)"
    except Exception as exc:  # noqa: BLE001 - the data set is optional
        print(f"  fashion_mnist unavailable ({exc}); synthetic embeddings instead", flush=True)
    rng = np.random.default_rng(0)
    rid = store.create_run({"dataset": "synthetic"}, 0, strategy="random", dataset="synthetic")
    centres = rng.standard_normal((10, 128)) * 4
    for r in range(4):
        idx = np.arange(5200)
        emb = centres[idx % 10] * (1 + 0.1 * r) + rng.standard_normal((5200, 128))
        store.log_round(rid, r, n_labeled=100 * (r + 1), metrics={"accuracy": 0.5}, timings={},
                        selected=list(range(100 * r, 100 * r + 100)), embeddings=emb, embedding_index=idx)
    return rid, "synthetic: 10 Gaussian clusters in 128-d, 5,200 rows per round"


def embedding_child(ws: str, run_id: str) -> None:
    """Runs in a fresh process so that the first map includes ``import umap`` and numba compilation (what
    the page's background child pays): the aligned map over the run's rounds, then per round change the
    page's work (the round's slice, a 5,000-point subsample, the canvas scatter's data with every shown
    point's picture in one PNG sprite sheet, JSON serialisation)."""
    import numpy as np

    t0 = time.perf_counter()
    from alkit.viz.embedding import import_umap

    import_umap()
    import_s = time.perf_counter() - t0
    from alkit.app import maps
    from alkit.store import RunStore
    from alkit.viz.batch import to_image
    from alkit.viz.embedding import embedding_payload, point_status, subsample_keep

    store = RunStore(ws, readonly=True)
    try:  # the page shows each point's picture on hover (the dataset is cached by the dashboard)
        from alkit.data import load_dataset

        ds = load_dataset(store.list_runs()[0]["dataset"])
    except Exception:  # noqa: BLE001 - the synthetic stand-in has no pictures
        ds = None
    run = store.get_run(run_id)
    rounds = [r["round"] for r in store.get_rounds(run_id) if r["has_embeddings"]]
    sels = store.get_selections(run_id)
    spec = maps.MapSpec.for_run(run, "aligned", rounds=rounds)
    t0 = time.perf_counter()
    layout, hit = maps.compute(spec, ws, store)
    first_fit = time.perf_counter() - t0
    refresh, payload_bytes, n_rows = [], 0, None
    for r in reversed(rounds):
        t0 = time.perf_counter()
        pidx, xy = layout.at(r)
        status = point_status(pidx, store.labeled_indices(run_id, r - 1) if r > 0 else [], sels[r]["indices"])
        rows = subsample_keep(len(pidx), 5000, np.flatnonzero(status != "unlabeled"))
        shown = pidx[rows]
        images = None if ds is None else [to_image(ds.x_train[i], mean=ds.mean, std=ds.std) for i in shown]
        payload = embedding_payload(xy[rows], shown, status[rows], scores={}, images=images)
        payload_bytes = len(json.dumps(payload))
        refresh.append(time.perf_counter() - t0)
        n_rows = len(rows)
    t0 = time.perf_counter()  # the cache: the same map read back
    again, hit2 = maps.compute(spec, ws, store)
    cached_s = time.perf_counter() - t0
    print(json.dumps({"import_umap_s": round(import_s, 3), "first_fit_s": round(first_fit, 3),
                      "first_fit_was_cached": hit, "cache_read_s": round(cached_s, 3), "cache_hit": hit2,
                      "map": "AlignedUMAP over rounds " + ", ".join(map(str, rounds)),
                      "fit_points": layout.info["n_fit"], "displayed_points": n_rows,
                      "refresh_s": [round(t, 3) for t in refresh], "payload_bytes": payload_bytes,
                      "with_images": ds is not None}))


def first_open_embeddings(ws: Path, repeats: int = 2, cold: bool = True) -> dict:
    """The Embeddings page's first open in a fresh dashboard process (a new server each time), on the big run.

    ``cold``: no map in the workspace (``cache/maps`` removed) and an empty ``NUMBA_CACHE_DIR``: the page
    opens on its "computing…" notice and an instant PCA stand-in, the background child computes the
    aligned map, the page redraws itself. ``warm``: the map is on disk (a new server each time). ``page_s``: from opening the URL until the page is usable (Streamlit
    idle and a scatter drawn: the map, or while it is computed the notice and the instant PCA stand-in);
    ``map_s``: until the aligned map itself is drawn, with ``points_drawn`` points (the page's default, 5,000). ``server_start_s``: from
    starting the server until it answers (its preload thread then loads the newest run's dataset while the
    browser starts and loads the page).
    """
    import shutil

    from playwright.sync_api import sync_playwright

    from alkit.app.launch import dashboard_server
    from alkit.app.maps import maps_dir

    idle_js = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    # alkit's scatter is drawn in a shadow root: look inside every one
    title_js = ("(t) => { const r = [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)"
                ".flatMap(s => [...s.querySelectorAll('.alk-root[data-ready=\"1\"]')]);"
                " return r.length === 1 && r[0].querySelector('.alk-title').textContent.includes(t)"
                " && !document.querySelector('[data-testid=\"stStatusWidget\"]'); }")
    out: dict[str, Any] = {}
    # numba's cache of this measurement: a folder of its own, emptied for the cold case (the server and
    # its map children inherit NUMBA_CACHE_DIR)
    os.environ["NUMBA_CACHE_DIR"] = str(ws.parent / "numba-cache")
    for case in ["cold"] * cold + ["warm"] * repeats:
        if case != "warm":
            shutil.rmtree(maps_dir(ws), ignore_errors=True)
        if case == "cold":
            shutil.rmtree(os.environ["NUMBA_CACHE_DIR"], ignore_errors=True)
        t_start = time.perf_counter()
        with dashboard_server(ws) as url, sync_playwright() as p:
            server_s = time.perf_counter() - t_start
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"{url}/embeddings")
            page.locator(".alk-root[data-ready='1']").first.wait_for(timeout=600_000)
            page.wait_for_function(idle_js, timeout=600_000)
            page_s = time.perf_counter() - t0
            notice = page.get_by_text("computing…").count() > 0
            stand_in = page.locator(".alk-root[data-ready='1']").count() > 0
            page.get_by_text("AlignedUMAP over rounds").first.wait_for(timeout=1_800_000)  # the map itself
            page.wait_for_function(title_js, arg="Aligned UMAP", timeout=600_000)
            map_s = time.perf_counter() - t0
            caption = page.get_by_text("AlignedUMAP over rounds").first.inner_text()
            n_points = int(page.locator(".alk-root").first.get_attribute("data-points"))
            browser.close()
        row = {"server_start_s": round(server_s, 3), "page_s": round(page_s, 3), "map_s": round(map_s, 3),
               "notice_first": notice, "stand_in_map_first": notice and stand_in, "points_drawn": n_points,
               "caption": caption[:200]}
        out.setdefault(case, []).append(row)
        print(f"  first open ({case}): page {page_s:.2f} s with {n_points} points, map {map_s:.2f} s "
              f"({'computing notice first' if notice else 'map at once'})", flush=True)
    return out


FIRST_OPEN = RESULTS.parent / "embeddings_first_open.json"


def main_first_open(wsbig: Path) -> None:
    res: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                       "load_avg_start": _load()}}
    if (wsbig / "alkit.sqlite").exists():
        from alkit.store import RunStore

        run = RunStore(wsbig, readonly=True).list_runs()[0]
        what = f"{run['dataset']} run {run['run_id']} (reused)"
    else:
        t0 = time.perf_counter()
        _, what = build_big_run(wsbig)
        res["build_s"] = round(time.perf_counter() - t0, 1)
    from alkit.store import RunStore

    store = RunStore(wsbig, readonly=True)
    rid = store.list_runs()[0]["run_id"]
    res["data"] = what
    res["stored_points_per_round"] = [len(store.get_embeddings(rid, r["round"])[0])
                                      for r in store.get_rounds(rid) if r["has_embeddings"]]
    # what the server's preload thread takes off the first visit (alkit.app.preload): loading the run's dataset
    # and the digest of its inputs that the Embeddings map cache is keyed by, here in this process
    from alkit.app import maps
    from alkit.data import load_dataset

    run = store.get_run(rid)
    spec = maps.MapSpec.for_run(run, "input")
    t0 = time.perf_counter()
    ds = load_dataset(spec.dataset, **json.loads(spec.dataset_params))
    res["dataset_load_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    maps.array_digest(ds.x_train)
    res["inputs_digest_s"] = round(time.perf_counter() - t0, 3)
    del ds
    store.close()
    res["target_s"] = 5.0
    res["first_open"] = first_open_embeddings(wsbig)
    res["machine"]["load_avg_end"] = _load()
    FIRST_OPEN.parent.mkdir(parents=True, exist_ok=True)
    FIRST_OPEN.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {FIRST_OPEN}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workspace", help="reuse this folder (default: a temporary one)")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--only-embedding", action="store_true",
                    help="re-measure only the embedding map (reuses --workspace and the results file)")
    ap.add_argument("--only-first-open", action="store_true",
                    help="measure only the Embeddings page's first open in fresh dashboard processes "
                         "(writes benchmarks/results/embeddings_first_open.json)")
    ap.add_argument("--embedding-child", nargs=2, metavar=("WS", "RUN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.embedding_child:
        embedding_child(*args.embedding_child)
        return
    if args.only_first_open:
        main_first_open(Path(args.workspace or tempfile.mkdtemp(prefix="alkit-dash-bench-")) / "big_run")
        return
    root = Path(args.workspace or tempfile.mkdtemp(prefix="alkit-dash-bench-"))
    ws10, wsbig = root / "ten_runs", root / "big_run"
    if args.only_embedding:
        result = json.loads(RESULTS.read_text())
        result["machine"]["load_avg_embedding_start"] = _load()
    else:
        result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg_start": _load()}}
        t0 = time.perf_counter()
        print("building a store of 10 digits runs…", flush=True)
        build_store(ws10)
        result["store"] = {"runs": 10, "rounds_per_run": 11, "build_s": round(time.perf_counter() - t0, 1)}
        print("page-ready (streamlit.testing, server side):", flush=True)
        result["pages"] = time_pages(ws10)
        if not args.no_browser:
            print("page-ready in headless Chromium:", flush=True)
            result["browser"] = time_browser(ws10)
            result["browser_baseline"] = bare_streamlit_baseline()
    print("embedding map:", flush=True)
    if args.only_embedding and (wsbig / "alkit.sqlite").exists():
        from alkit.store import RunStore

        rid = RunStore(wsbig, readonly=True).list_runs()[0]["run_id"]
        what = result.get("embedding", {}).get("data", "the stored big run")
    else:
        rid, what = build_big_run(wsbig)
    proc = subprocess.run([sys.executable, "-m", "benchmarks.dashboard", "--embedding-child", str(wsbig), rid],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    emb = json.loads(proc.stdout.strip().splitlines()[-1])
    emb["data"] = what
    if not args.no_browser:
        emb["browser"] = browser_embedding(wsbig)
    result["embedding"] = emb
    print(f"  import umap {emb['import_umap_s']:.1f} s, first map {emb['first_fit_s']:.1f} s "
          f"(read back from the cache: {emb['cache_read_s']:.2f} s) on "
          f"{emb['fit_points']} points, refresh {emb['refresh_s']} s for {emb['displayed_points']} points", flush=True)
    pages_ok = all(v["warm_s"] <= 3.0 for v in result["pages"].values())
    br = result.get("browser") or {}
    browser_ok = None if not br else {kind: all(v["warm_s"] <= 3.0 for k, v in br.items() if k.startswith(kind + ":"))
                                      for kind in ("first_open", "open", "switch")}
    result["targets"] = {"page_ready_s": 3.0, "embedding_refresh_s": 5.0,
                         "pages_warm_within_target": pages_ok, "browser_warm_within_target": browser_ok,
                         "embedding_refresh_within_target": max(emb["refresh_s"]) <= 5.0
                         and all(t <= 5.0 for t in ((emb.get("browser") or {}).get("round_change_s") or []))}
    result["machine"]["load_avg_end"] = _load()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
