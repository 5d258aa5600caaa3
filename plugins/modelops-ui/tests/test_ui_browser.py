"""The UI in a real browser (Debian's Chromium through Playwright) on the demo's store:
experiments → run → compare → model → history → monitoring, a search with a filter, a
filter error with its caret, and hostile names shown as text."""

from __future__ import annotations

import pytest
from ui_support import XSS, Server

import modelops

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ui-browser")]


def follow(page, link) -> None:  # type: ignore[no-untyped-def]
    """Click `link` and wait for the page it leads to. A form's submission starts its
    navigation a task later, so a bare click can return before the old page is gone."""
    with page.expect_navigation():
        link.click()


@pytest.fixture()
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    yield page
    context.close()
    assert not errors, errors   # no script error, no CSP violation, no alert() ran


def test_click_through_a_models_life(demo_server: Server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(demo_server.url + "/")
    follow(page, page.get_by_role("link", name="demo-breast-cancer", exact=True))
    rows = page.locator("#runs tbody tr")
    assert rows.count() == 5                         # the demo's five candidates
    # a search with a filter: only the forests
    page.fill("#filter", "params.model LIKE '%Forest%'")
    follow(page, page.get_by_role("button", name="Search"))
    names = page.locator("#runs td.name a").all_inner_texts()
    assert names and all(n.startswith("forest") for n in names), names
    # sorting by a column header the server orders by
    page.fill("#filter", "")
    follow(page, page.get_by_role("button", name="Search"))
    follow(page, page.locator("#runs thead a", has_text="metrics.roc_auc"))
    values = [float(v) for v in page.locator("#runs tbody tr td.num").evaluate_all(
        "cells => cells.map(c => c.dataset.sort)") if v]
    assert values
    # a run: metrics, params, a history chart, artifacts and the version it produced
    follow(page, page.locator("#runs td.name a").first)
    assert page.locator("#metrics tbody tr").count() >= 3
    assert page.locator("#params tbody tr").count() >= 1
    assert page.locator("#artifact-list tbody tr").count() == 3    # and modelops-datasets/
    # compare three runs
    page.go_back()
    boxes = page.locator("#runs input[type=checkbox]")
    for i in range(3):
        boxes.nth(i).check()
    follow(page, page.get_by_role("button", name="Compare selected"))
    assert page.locator("#compare-runs thead th a").count() == 3
    assert page.locator("#compare-runs tr.differs").count() >= 1     # differences marked
    # the model, its history, monitoring
    follow(page, page.get_by_role("link", name="Models", exact=True))
    follow(page, page.get_by_role("link", name="breast-cancer", exact=True))
    assert page.locator("#versions tbody tr").count() == 2
    history = page.locator("#history").inner_text()
    assert "promote" in history and "cycle started" in history and "cycle finished" in history
    assert "refused" not in history or "refused:" in history
    follow(page, page.get_by_role("link", name="Monitoring", exact=True))
    assert page.locator("#health-now tbody tr").count() >= 1
    assert page.locator(".report svg").count() >= 3                  # the report's charts
    follow(page, page.locator("#health-history"))
    statuses = page.locator("#health-over-time tbody tr .health").all_inner_texts()
    assert len(statuses) == 12 and set(statuses) <= {"healthy", "degraded", "unhealthy"}
    # a drift report opens as the report modelops draws
    follow(page, page.get_by_role("link", name="breast-cancer", exact=True).first)
    follow(page, page.get_by_role("link", name="Drift reports"))
    follow(page, page.locator("#drift-reports tbody a").first)
    assert page.locator("h1", has_text="Drift report").count() == 1


def test_a_run_page_draws_histories_and_lineage(demo_server: Server, page) -> None:  # type: ignore[no-untyped-def]
    ops = modelops.connect(demo_server.store)
    version = ops.registry.get_version("breast-cancer", "1.0.0")
    page.goto(f"{demo_server.url}/runs/{version.run_id}")
    assert page.locator("ul.lineage a", has_text="breast-cancer 1.0.0").count() == 1
    boosting = ops.tracking.search_runs("demo-breast-cancer",
                                        filter="params.model = 'GradientBoostingClassifier'")
    page.goto(f"{demo_server.url}/runs/{boosting[0].run_id}")
    assert page.locator(".charts figure svg").count() >= 1          # its learning curve
    # hover shows a point's value; a click zooms the chart
    figure = page.locator(".charts figure").first
    figure.locator("circle").first.hover()
    assert page.locator(".tip").is_visible()
    figure.click()
    assert "zoomed" in (figure.get_attribute("class") or "")
    page.keyboard.press("Escape")
    assert "zoomed" not in (figure.get_attribute("class") or "")
    follow(page, page.get_by_role("link", name="time", exact=True))
    assert "x=time" in page.url and page.locator(".charts svg").count() >= 1
    # an artifact preview shows text as text
    follow(page, page.locator("#artifact-list a", has_text="classification_report.txt"))
    assert "precision" in page.locator("pre.preview-text").inner_text()


def test_a_version_page_shows_the_datasets_it_was_trained_on(demo_server: Server, page) -> None:  # type: ignore[no-untyped-def]
    ops = modelops.connect(demo_server.store)
    version = ops.registry.get_version("breast-cancer", "1.0.0")
    [logged] = version.lineage.datasets
    page.goto(f"{demo_server.url}/models/breast-cancer/versions/1.0.0")
    cells = page.locator("#datasets tbody tr").first.locator("td").all_inner_texts()
    assert cells[:3] == ["training", "training", "398"]
    assert cells[3] == logged.digest[:12] and cells[4] == "sklearn:breast_cancer"
    assert page.locator("#datasets code").get_attribute("title") == logged.digest
    # its run lists the dataset with its columns
    follow(page, page.locator("#datasets a"))
    assert page.url.endswith(f"/runs/{version.run_id}")
    row = page.locator("#datasets tbody tr").first.locator("td").all_inner_texts()
    assert row[0] == "training" and row[3].startswith("mean_radius, mean_texture")


def test_a_filter_error_shows_the_caret(demo_server: Server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(demo_server.url + "/experiments")
    follow(page, page.get_by_role("link", name="demo-breast-cancer", exact=True))
    page.fill("#filter", "metrics.f1 >> 0.9")
    follow(page, page.get_by_role("button", name="Search"))
    error = page.locator("#filter-error")
    assert error.is_visible()
    caret = page.locator("#filter-error pre.caret").inner_text()
    text, marker = caret.split("\n")[:2]
    assert text == "metrics.f1 >> 0.9"
    assert marker.index("^") == text.index(">>") + 1 or marker.index("^") == text.index(">>")
    # the filter stays in the box to be fixed
    assert page.input_value("#filter") == "metrics.f1 >> 0.9"


def test_hostile_names_are_text(tmp_path, browser) -> None:  # type: ignore[no-untyped-def]
    from modelops_ui import app

    ops = modelops.connect(str(tmp_path / "store"))
    with ops.tracking.start_run(experiment=f"exp {XSS[:40]}".replace("/", ""),
                                name=XSS.replace("/", "")[:150]) as run:
        run.log_param("p<b>", XSS)
        run.set_tag("t\"'", XSS)
        run.log_metric("m<i>", 1.0)
        run.log_text(XSS, "page.html")
        run.log_text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
                     "evil.svg")
    context = browser.new_context()
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with Server(app(ops)) as server:
        page.goto(f"{server.url}/experiments")
        follow(page, page.locator("table a").first)
        name = page.locator("#runs td.name a").first
        assert name.inner_text() == XSS.replace("/", "")[:150]
        follow(page, name)
        assert page.locator("h1").inner_text() == XSS.replace("/", "")[:150]
        assert page.locator("#params td").nth(1).inner_text() == XSS
        follow(page, page.locator("#artifact-list a", has_text="page.html"))
        assert page.locator("pre.preview-text").inner_text() == XSS
        page.go_back()
        follow(page, page.locator("#artifact-list a", has_text="evil.svg"))
        assert "onload" in page.locator("pre.preview-text").inner_text()
        assert page.locator("svg[onload]").count() == 0
    context.close()
    ops.close()
    assert not dialogs


def test_pages_read_without_javascript(demo_server: Server, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(demo_server.url + "/experiments")
    follow(page, page.get_by_role("link", name="demo-breast-cancer", exact=True))
    assert page.locator("#runs tbody tr").count() == 5
    # sorting is the server's: a header is a link
    follow(page, page.locator("#runs thead a", has_text="Run"))
    names = page.locator("#runs td.name a").all_inner_texts()
    assert names == sorted(names, reverse=True)
    follow(page, page.locator("#runs td.name a").first)
    assert page.locator("#metrics tbody tr").count() >= 3
    page.goto(demo_server.url + "/models/breast-cancer/monitoring")
    assert page.locator(".report svg").count() >= 3
    context.close()
