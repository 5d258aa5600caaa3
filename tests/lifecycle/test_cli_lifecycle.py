"""``modelops lifecycle run|check`` from the shell."""

import json
import textwrap

import pytest

import modelops
from modelops.cli import main

from ._data import now_hour, production_model, traffic

TRAIN = """
def train(context):
    return {"weights": [1.0, 2.0]}, {"f1": 0.91, "rows": float(len(context.predictions()))}


class Jobs:
    @staticmethod
    def retrain(context):
        return {"weights": [3.0]}, {"f1": 0.80}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "mytraining.py").write_text(textwrap.dedent(TRAIN))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return str(tmp_path / "store")


def test_run_trains_the_first_version_then_skips(project, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--uri", project, "lifecycle", "check", "fraud"])
    assert exit_.value.code == 3
    assert "retrain: no version of 'fraud' is in production" in capsys.readouterr().out
    assert main(["--uri", project, "lifecycle", "run", "fraud", "--train",
                 "mytraining:train", "--metric", "f1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fraud: promoted — registered 1.0.0 and promoted it to production")
    assert main(["--uri", project, "lifecycle", "run", "fraud", "--train",
                 "mytraining:train", "--metric", "f1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "skipped" and report["decision"]["retrain"] is False
    assert main(["--uri", project, "lifecycle", "check", "fraud", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["retrain"] is False


def test_run_with_a_policy_floors_and_a_challenger_target(project, capsys):
    ops = modelops.connect(project)
    production_model(ops)
    traffic(ops, now_hour(), shifted=4)
    assert main(["--uri", project, "lifecycle", "run", "fraud", "--train",
                 "mytraining:Jobs.retrain", "--drift-share", "0.5", "--floor", "f1=0.85",
                 "--target", "staging", "--compare", "registered"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fraud: refused — registered 1.0.1, not promoted: f1=0.8 is not "
                          "above 0.85")
    assert main(["--uri", project, "lifecycle", "run", "fraud", "--train",
                 "mytraining:train", "--force", "--floor", "f1=0.85", "--target", "staging",
                 "--experiment", "nightly", "--compare", "registered"]) == 0
    assert "promoted it to staging" in capsys.readouterr().out
    assert ops.registry.get_version("fraud", stage="staging").version == "1.0.2"
    assert 1_000 < ops.tracking.search_runs("nightly")[0].metrics["rows"] <= 1_200


@pytest.mark.parametrize(("spec", "message"), [
    ("mytraining", "expected MODULE:FUNCTION"),
    ("nosuchmodule:train", "cannot import 'nosuchmodule'"),
    ("mytraining:nope", "'mytraining' has no 'nope'"),
])
def test_a_bad_training_function_is_an_error(project, capsys, spec, message):
    assert main(["--uri", project, "lifecycle", "run", "fraud", "--train", spec]) == 1
    assert message in capsys.readouterr().err


def test_a_bad_policy_is_an_error(project, capsys):
    assert main(["--uri", project, "lifecycle", "check", "fraud", "--drift-share", "2"]) == 1
    assert "RetrainPolicy.drift_share" in capsys.readouterr().err
    assert main(["--uri", project, "lifecycle", "run", "fraud", "--train", "mytraining:train",
                 "--floor", "f1"]) == 1
    assert "expected METRIC=NUMBER" in capsys.readouterr().err
