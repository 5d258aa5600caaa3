"""examples/labels_late.py runs and tells the story it promises."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "labels_late.py"


@pytest.mark.slow
def test_the_example_estimates_finds_and_ranks(tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLE), str(tmp_path / "store")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         check=True).stdout
    lines = out.splitlines()
    days = [line for line in lines if line.startswith("  20")]
    assert len(days) == 7
    estimated = [float(line.split("accuracy ")[1].split()[0]) for line in days]
    reference = float(next(line for line in lines if "labelled month" in line).split()[-1])
    assert max(estimated) < reference - 0.05                  # it saw the drop coming
    assert "east, reconstruction: drifted" in out
    assert "health by region, worst first: [('east'" in out
    assert "loan below income" in out and (tmp_path / "labels-late.html").exists()
