"""The dashboard in a real browser: start it headless on a free port, drive it with Playwright on Debian's Chromium.

Never runs ``playwright install`` (which downloads a browser): it skips when ``/usr/bin/chromium`` or the
playwright package is missing. Screenshots go to the test's tmp folder and, when ``ALKIT_SCREENSHOTS`` is
set, to that folder too.
"""

import os
import shutil
from pathlib import Path

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


def test_step_a_round_and_see_the_embedding(server, tmp_path):
    url, ws = server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_text("The run store is empty").wait_for(timeout=60_000)
        idle(page)
        shot(page, tmp_path, "01_empty_store")

        for label, value in (("Initial labels", "20"), ("Budget per round (b)", "10"), ("Query rounds", "2"),
                             ("Training epochs per round", "15"), ("Store embeddings of (pool items)", "600")):
            box = page.get_by_label(label, exact=True)
            box.fill(value)
            box.press("Enter")
            idle(page)
        page.get_by_text("Step one round at a time").click()
        idle(page)
        page.get_by_role("button", name="Start", exact=True).click()
        page.get_by_role("button", name="Step one round").wait_for(timeout=60_000)
        for done in (1, 2):
            idle(page)
            page.get_by_role("button", name="Step one round").first.click()
            page.get_by_text(f"{done} of 3 rounds").wait_for(timeout=120_000)
        page.locator(".alk-lite-title, .gtitle", has_text="This run so far").first.wait_for(timeout=60_000)
        idle(page)
        shot(page, tmp_path, "02_run_stepped")

        page.get_by_role("link", name="Embeddings", exact=True).click()
        # the legend of the last round's batch; the first UMAP fit in a process compiles numba code
        chart = page.locator(".alk-root", has=page.locator(".alk-legend-item", has_text="selected (10)"))
        chart.wait_for(timeout=300_000)
        page.get_by_text("UMAP fitted on round 1").wait_for(timeout=60_000)
        idle(page)
        legend = chart.locator(".alk-legend-item").all_text_contents()
        assert [t.split(" ")[0] for t in legend] == ["unlabeled", "labeled", "selected"], legend
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

        page.get_by_role("link", name="Selected batch", exact=True).click()
        page.locator(".alk-lite-title, .gtitle", has_text="Spread in input space").first.wait_for(timeout=60_000)
        idle(page)
        assert page.locator("[data-testid='stMainBlockContainer'] [data-testid='stImage'] img").count() >= 10
        shot(page, tmp_path, "04_selected_batch")

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
        browser.close()
    from alkit.store import RunStore

    runs = RunStore(ws, readonly=True).list_runs()
    assert len(runs) == 1 and runs[0]["n_rounds"] == 2
