"""Screenshots of every page of ``modelops ui`` for docs/ui.md, from the demo's store.

    python docs/ui_screenshots.py              # writes docs/images/ui-*.png

Runs the demo into a temporary store, serves the UI on loopback, and photographs each page
in Debian's Chromium (through Playwright) at 1280 px wide; each PNG is reduced to a 256-colour
palette to stay small.
"""

from __future__ import annotations

import argparse
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]


def _serve(application: object) -> tuple[object, str]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


def _save(page: object, path: pathlib.Path, full: bool = False) -> None:
    from PIL import Image

    page.screenshot(path=str(path), full_page=full)  # type: ignore[attr-defined]
    image = Image.open(path).convert("RGB")
    if image.height > 2400:                        # the monitoring report is long
        image = image.crop((0, 0, image.width, 2400))
    image.quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "images"), help="folder of the PNGs")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from modelops_ui import app
    from playwright.sync_api import sync_playwright

    import modelops

    with tempfile.TemporaryDirectory() as tmp:
        store = pathlib.Path(tmp) / "store"
        subprocess.run([sys.executable, str(ROOT / "examples" / "demo.py"), "--store",
                        str(store), "--report", f"{tmp}/d.html", "--monitoring-report",
                        f"{tmp}/m.html"], check=True, capture_output=True, cwd=tmp)
        ops = modelops.connect(str(store))
        server, url = _serve(app(ops, allow_actions=True))
        boosting = ops.tracking.search_runs(
            "demo-breast-cancer", filter="params.model = 'GradientBoostingClassifier'")[0]
        runs = ops.tracking.search_runs("demo-breast-cancer")
        experiment = ops.tracking.get_experiment("demo-breast-cancer").experiment_id
        report = ops.drift.reports("breast-cancer")[-1]
        compare = "&".join(f"runs={r.run_id}" for r in runs)
        shots = [
            ("experiments", "/experiments", False),
            ("runs", f"/experiments/{experiment}?cols=metrics.roc_auc&cols=metrics.f1"
                     "&cols=metrics.accuracy&cols=params.model"
                     "&order=metrics.roc_auc+DESC", False),
            ("filter-error", f"/experiments/{experiment}?filter=metrics.f1+%3E%3E+0.9", False),
            ("run", f"/runs/{boosting.run_id}", True),
            ("artifact", f"/runs/{boosting.run_id}/artifact?path=classification_report.txt",
             False),
            ("compare", f"/compare?{compare}&param=n_estimators&metric=roc_auc", True),
            ("models", "/models", False),
            ("model", "/models/breast-cancer", True),
            ("version", "/models/breast-cancer/versions/1.0.1", True),
            ("monitoring", "/models/breast-cancer/monitoring?window=18h", True),
            ("drift", "/drift/breast-cancer", False),
            ("drift-report", f"/drift/breast-cancer/{report.report_id}", False),
            ("confirm", "/models/breast-cancer/confirm?action=promote&version=1.0.0"
                        "&target=production", False),
        ]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium,
                                                 args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            for name, path, full in shots:
                page.goto(url + path)
                _save(page, out / f"ui-{name}.png", full)
                print(f"ui-{name}.png")
            browser.close()
        server.should_exit = True  # type: ignore[attr-defined]
        ops.close()


if __name__ == "__main__":
    main()
