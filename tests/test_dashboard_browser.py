"""The dashboard in a real browser: start it headless on a free port, drive it with Playwright on Debian's Chromium.

Never runs ``playwright install`` (which downloads a browser): it skips when ``/usr/bin/chromium`` or the
playwright package is missing. Screenshots go to the test's tmp folder and, when ``ALKIT_SCREENSHOTS`` is
set, to that folder too (``ALKIT_SCREENSHOTS=benchmarks/results/screens`` refreshes the README's).

The dashboard must work offline: every request the browser makes to anything but the dashboard's own
127.0.0.1 server is recorded (and blocked), and the test fails if there was one.
"""

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt install chromium)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture
def server(tmp_path):
    from alkit.app.launch import dashboard_server

    ws = tmp_path / "workspace"
    try:
        with dashboard_server(ws, log_path=tmp_path / "streamlit.log") as url:
            yield url, ws
    except RuntimeError as exc:
        if "did not start" in str(exc):
            pytest.fail(str(exc))
        raise


def shot(page, tmp_path, name):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("ALKIT_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path


def idle(page, timeout=60_000):
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                           " && !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout)


def local(url):
    """A request that stays on this machine: the dashboard's 127.0.0.1 server, or data in the page itself."""
    return url.startswith(("data:", "blob:", "about:")) or urlparse(url).hostname == "127.0.0.1"


def lite_chart(page, title):
    """alkit's SVG chart with this title (its root element)."""
    return page.locator(".alk-lite", has=page.locator(".alk-lite-title", has_text=title)).first


def run_row(page, run_id):
    """The cells of one run's row in the Run page's runs table (the data grid's accessible table)."""
    return page.evaluate("(rid) => [...document.querySelectorAll('[data-testid=\"stDataFrame\"] tr')]"
                         ".map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))"
                         ".find(cells => cells[0] === rid) || null", run_id)


def test_step_a_round_and_see_the_embedding(server, tmp_path):
    url, ws = server
    outside = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1200})
        # record every request that leaves 127.0.0.1 (fonts, icons, CDNs...) and block it, as an offline room would
        context.on("request", lambda r: None if local(r.url) else outside.append(r.url))
        context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]|data:|blob:|about:)"), lambda route: route.abort())
        page = context.new_page()
        page.goto(url)
        page.wait_for_url("**/run", timeout=60_000)  # the root forwards to the Run page, which lives at /run
        page.get_by_text("The run store is empty").wait_for(timeout=60_000)
        idle(page)
        page.goto(f"{url}/run")  # a bookmark of /run opens the Run page, not "Page not found"
        page.get_by_text("The run store is empty").wait_for(timeout=60_000)
        idle(page)
        assert page.get_by_text("Page not found").count() == 0
        assert page.get_by_role("button", name="Deploy").count() == 0 and page.get_by_text("Deploy").count() == 0
        shot(page, tmp_path, "01_empty_store")

        for label, value in (("Initial labels", "20"), ("Budget per round (b)", "10"), ("Query rounds", "2"),
                             ("Training epochs per round", "15"), ("Store embeddings of (pool items)", "600")):
            box = page.get_by_label(label, exact=True)
            box.fill(value)
            box.press("Enter")
            idle(page)
        page.get_by_text("Log the bound terms each round").click()
        page.get_by_text("Step one round at a time").click()
        idle(page)
        page.get_by_role("button", name="Start", exact=True).click()  # Random with the same settings runs alongside
        page.get_by_role("button", name="Step one round").wait_for(timeout=60_000)
        rid = re.search(r"Run (\S+):", page.get_by_role("heading", name=re.compile(r"^Run \S+:")).inner_text()).group(1)
        for done in (1, 2):
            idle(page)
            page.get_by_role("button", name="Step one round").first.click()
            page.get_by_text(f"{done} of 3 rounds").wait_for(timeout=120_000)
        curve = lite_chart(page, "This run so far")
        curve.locator(".alk-lite-legend-item", has_text="random").wait_for(timeout=120_000)  # the Random baseline
        # the runs table follows the run without a reload
        page.wait_for_function("(rid) => { const c = [...document.querySelectorAll('[data-testid=\"stDataFrame\"] tr')]"
                               ".map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))"
                               ".find(c => c[0] === rid); return c && c.includes('running') && c.includes('2'); }",
                               arg=rid, timeout=60_000)
        idle(page)
        shot(page, tmp_path, "02_run_stepped")
        rest = page.get_by_role("button", name="Run the rest")
        for attempt in range(3):  # the switch is idempotent: a click a loaded page dropped is given again
            rest.click()
            try:
                page.wait_for_function("() => { const b = [...document.querySelectorAll('button')].find("
                                       "b => b.textContent.includes('Run the rest')); return !b || b.disabled; }",
                                       timeout=30_000)
                break
            except sync_api.TimeoutError:
                assert attempt < 2, "Run the rest was not taken in 3 clicks"
                idle(page)
        page.wait_for_function("(rid) => { const c = [...document.querySelectorAll('[data-testid=\"stDataFrame\"] tr')]"
                               ".map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))"
                               ".find(c => c[0] === rid); return c && c.includes('finished') && c.includes('3'); }",
                               arg=rid, timeout=120_000)
        idle(page)
        row = run_row(page, rid)
        assert "finished" in row and "3" in row, row
        shot(page, tmp_path, "02b_run_finished")

        page.get_by_role("link", name="Embeddings", exact=True).click()
        # the aligned map of rounds 0-2 is computed in the background as the rounds finish; until it is there
        # the page says "computing…", draws the round's own features by PCA in its place, and redraws itself
        chart = page.locator(".alk-root", has=page.locator(".alk-legend-item", has_text="selected (10)"))
        chart.wait_for(timeout=120_000)
        if page.get_by_text("computing…").count():
            idle(page)
            shot(page, tmp_path, "03a_embeddings_computing")
            page.wait_for_timeout(2500)  # the notice's fragment has rerun by itself: it still names the map asked for
            notice = page.get_by_text("computing…")
            if notice.count():
                text = notice.first.inner_text()
                assert text.startswith("Aligned UMAP over rounds (UMAP): computing…"), text
        page.get_by_text("AlignedUMAP over rounds 0–2").wait_for(timeout=900_000)
        idle(page)  # the stand-in's chart is gone once the run that drew the map has ended
        chart = page.locator(".alk-root", has=page.locator(".alk-title", has_text="· Aligned UMAP over rounds"))
        chart.wait_for(timeout=60_000)
        legend = chart.locator(".alk-legend-item").all_text_contents()
        assert [t.split(" ")[0] for t in legend] == ["unlabeled", "labeled", "selected"], legend
        assert legend[2] == "selected (10)", legend
        # hover the first selected point: its picture appears in the tooltip
        canvas = chart.locator("canvas.alk-canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        n_points = int(chart.get_attribute("data-points"))
        sx, sy = chart.evaluate(f"el => el.alkScreenOf({n_points - 1})")  # selected points are drawn last
        page.mouse.move(box["x"] + sx, box["y"] + sy)
        tip = chart.locator(".alk-tip")
        tip.wait_for(state="visible", timeout=10_000)
        page.wait_for_function("(el) => el.dataset.image === '1'", arg=tip.element_handle(), timeout=10_000)
        assert "selected" in tip.inner_text()
        shot(page, tmp_path, "03_embeddings_hover")
        # a click picks it: the page lists its image beside the chart
        page.mouse.click(box["x"] + sx, box["y"] + sy)
        page.get_by_text("1 picked").wait_for(timeout=60_000)
        idle(page)
        shot(page, tmp_path, "03b_embeddings_picked")
        # the input-space map, shared by every run of the dataset: this run and its Random baseline side by side
        page.get_by_text("Input space (same for every run of the dataset)").click()
        idle(page)
        page.locator("[data-testid='stSelectbox']", has_text="Side by side with").click()
        page.get_by_role("option", name=re.compile(r" · random · ")).click()
        both = page.locator(".alk-root[data-ready='1']")
        both.nth(1).wait_for(timeout=300_000)  # two charts (drawn in shadow roots: locators look inside)
        idle(page)
        titles = [t.split(" · ")[0] for t in page.locator(".alk-root .alk-title").all_text_contents()]
        assert titles == ["entropy", "random"], titles
        assert both.nth(0).get_attribute("data-points") == both.nth(1).get_attribute("data-points")
        shot(page, tmp_path, "03c_embeddings_side_by_side")

        page.get_by_role("link", name="Selected batch", exact=True).click()
        page.locator(".alk-lite-title, .gtitle", has_text="Spread in input space").first.wait_for(timeout=60_000)
        idle(page)
        assert page.locator("[data-testid='stMainBlockContainer'] [data-testid='stImage'] img").count() >= 10
        captions = page.locator("[data-testid='stImageCaption']").all_text_contents()
        assert len(captions) == 10 and all(c.startswith("true ") and ("✗" in c or "✓" in c) for c in captions), captions
        hist = lite_chart(page, "Classes: batch vs unlabeled pool")
        ticks = hist.locator(".alk-lite-tick:not([visibility='hidden'])").all_text_contents()
        assert [t for t in ticks if not t.endswith("%")] == [str(k) for k in range(10)]  # every class's label
        shot(page, tmp_path, "04_selected_batch")

        page.get_by_role("link", name="Theory", exact=True).click()
        lite_chart(page, "How the bound adds up").wait_for(timeout=60_000)
        for title in ("Risks", "Proxy H-divergence", "W1(L, U) in the model's features"):
            lite_chart(page, title).wait_for(timeout=60_000)
        idle(page)
        shot(page, tmp_path, "07_theory")

        page.get_by_role("link", name="Replay", exact=True).click()
        page.locator(".alk-legend-item", has_text="initial (20)").wait_for(timeout=60_000)  # round 0 selects nothing
        idle(page)
        shot(page, tmp_path, "08_replay_initial")

        page.get_by_role("link", name="Play", exact=True).click()
        play = page.locator(".alk-root", has=page.locator(".alk-legend-item", has_text="unlabeled (click or lasso)"))
        play.wait_for(timeout=60_000)
        page.get_by_text("Strategies to compare").wait_for(timeout=60_000)
        idle(page)
        shot(page, tmp_path, "05_play")
        # pick one grey point with a click, as a student would, and compare (unlabeled points come first)
        game = play.locator("canvas.alk-canvas")
        game.scroll_into_view_if_needed()
        box = game.bounding_box()
        sx, sy = play.evaluate("el => el.alkScreenOf(7)")
        assert 0 <= sx <= box["width"] and 0 <= sy <= box["height"]
        page.mouse.click(box["x"] + sx, box["y"] + sy)
        page.wait_for_function("() => [...document.querySelectorAll('p')].some("
                               "p => p.textContent.startsWith('Your pick:') && !p.textContent.includes('—'))",
                               timeout=60_000)
        idle(page)
        # the rerun redrew the game in place: one drawing, now with the pick ringed
        assert page.locator(".alk-root").count() == 1
        assert "your pick (1)" in page.locator(".alk-root .alk-legend").inner_text()
        page.get_by_role("button", name="Compare").click()
        page.locator(".alk-lite-title, .gtitle", has_text="Accuracy gain of each pick").first.wait_for(timeout=120_000)
        idle(page)
        shot(page, tmp_path, "06_play_compared")

        page.get_by_role("link", name="Label", exact=True).click()
        for label, value in (("Images per round", "3"), ("Rounds", "1"), ("Epochs per round", "2")):
            box = page.get_by_label(label, exact=True)
            box.fill(value)
            box.press("Enter")
            idle(page)
        page.get_by_role("button", name="Start labeling").click()
        page.get_by_text("label these 3 images").wait_for(timeout=120_000)
        idle(page)
        shot(page, tmp_path, "09_label_keyboard")
        page.get_by_role("heading", name="Label", exact=True).click()  # focus on the page, not in a field
        for k, key in enumerate("416"):
            # Streamlit drops a shortcut pressed while the page is still redrawing the previous answer (seen on a
            # loaded 2-core machine): press again only if the count did not move, so no answer is given twice
            for attempt in range(3):
                page.keyboard.press(key)
                try:
                    page.get_by_text("All 3 labeled" if k == 2 else f"{k + 1} of 3 labeled").wait_for(timeout=20_000)
                    break
                except sync_api.TimeoutError:
                    assert attempt < 2, f"key {key} was not taken in 3 presses"
                    idle(page)
            page.wait_for_timeout(1500)
            idle(page)
        done = page.get_by_text("Done: every round is labeled")
        for _attempt in range(3):  # Enter submits the labels; like the keys above, it can be dropped under load
            page.get_by_role("heading", name="Label", exact=True).click()
            page.keyboard.press("Enter")
            try:
                done.wait_for(timeout=40_000)
                break
            except sync_api.TimeoutError:
                idle(page)
        else:  # a page that never took the shortcut on this loaded machine: the button it is bound to
            page.get_by_role("button", name="Submit labels (Enter)").click()
            done.wait_for(timeout=120_000)
        browser.close()
    assert outside == [], f"requests left 127.0.0.1: {sorted(set(outside))}"
    from alkit.store import RunStore

    store = RunStore(ws, readonly=True)
    runs = {r["run_id"]: r for r in store.list_runs()}
    assert runs[rid]["n_rounds"] == 3 and runs[rid]["status"] == "finished"
    assert store.get_rounds(rid)[1]["extras"]["theory"]["test_error"] is not None
    (base,) = [r for r in runs.values() if r["strategy"] == "random"]
    assert base["n_rounds"] == 3
    (human,) = [r for r in runs.values() if r["name"] == "dashboard (human labels)"]
    assert store.get_selections(human["run_id"])[1]["labels"] == [4, 1, 6]  # what the keys said
