"""The command line speaks its own language: errors for what does not exist, ISO times,
chosen columns, CLI options in refusals, and help for every option."""

from __future__ import annotations

import argparse
import datetime as dt
import json

import numpy as np
import pytest

import modelops
from modelops.cli import main


def test_every_option_and_argument_has_help():
    from modelops.cli.main import build_parser, commands

    missing = []
    for command in commands(build_parser()):
        for action in command._actions:
            if action.dest != "help" and not isinstance(action, argparse._SubParsersAction) \
                    and not action.help:
                missing.append(f"{command.prog} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_health_of_an_unknown_model_is_an_error_naming_it(tmp_path, capsys):
    uri = str(tmp_path / "store")
    modelops.connect(uri).registry.register("fraud", {"w": 1}, flavor="joblib")
    assert main(["--uri", uri, "monitor", "health", "frad"]) == 1
    assert "no model 'frad' in the store" in capsys.readouterr().err
    assert main(["--uri", uri, "monitor", "report", "frad"]) == 1
    with pytest.raises(SystemExit) as exit_:       # a known model with no data: judged
        main(["--uri", uri, "monitor", "health", "fraud"])
    assert exit_.value.code == 5 and "no predictions logged" in capsys.readouterr().out


@pytest.mark.parametrize("spec", ["../../etc:passwd", ".relative:train", "no_such_module:f"])
def test_a_training_function_that_does_not_import_is_named(tmp_path, capsys, spec):
    uri = str(tmp_path / "store")
    modelops.connect(uri).registry.register("fraud", {"w": 1}, flavor="joblib")
    assert main(["--uri", uri, "lifecycle", "run", "fraud", "--train", spec]) == 1
    err = capsys.readouterr().err
    assert "--train: cannot import" in err and "Traceback" not in err


def test_a_store_copy_needs_a_source_and_two_places(tmp_path, capsys):
    uri = str(tmp_path / "store")
    modelops.connect(uri).tracking.create_experiment("e")
    assert main(["store", "copy", str(tmp_path / "nowhere"), "memory://"]) == 1
    assert "no store at" in capsys.readouterr().err
    assert main(["store", "copy", uri, str(tmp_path / "store" / "inside")]) == 1
    assert "one store is inside the other" in capsys.readouterr().err
    assert not (tmp_path / "store" / "inside").exists()


def test_a_report_with_too_many_trend_periods_is_refused_at_once(tmp_path, capsys):
    uri = str(tmp_path / "store")
    modelops.connect(uri).registry.register("fraud", {"w": 1}, flavor="joblib")
    assert main(["--uri", uri, "monitor", "report", "fraud", "--trend-window", "1ms"]) == 1
    assert "--trend-window: the window 1d holds 86,400,000 of 1ms, more than 1,440" in \
        capsys.readouterr().err


def test_a_page_that_cannot_be_written_is_an_error_naming_the_path(tmp_path, capsys):
    uri = str(tmp_path / "store")
    modelops.connect(uri).registry.register("fraud", {"w": 1}, flavor="joblib")
    page = tmp_path / "no-folder" / "report.html"
    assert main(["--uri", uri, "monitor", "report", "fraud", "--html", str(page)]) == 1
    assert "cannot write the page to" in capsys.readouterr().err
    assert not page.parent.exists()


@pytest.mark.parametrize("where", ["no-folder/report.html", "."])
def test_a_drift_check_whose_page_cannot_be_written_stores_no_report(tmp_path, capsys, where):
    """The check ran, and stored its report, before the page failed: the command said it
    failed while its report stood in the store. The page's place is now asked first."""
    uri = str(tmp_path / "store")
    ops = modelops.connect(uri)
    rng = np.random.default_rng(0)
    ops.drift.fit_reference("fraud", {"amount": rng.normal(size=500)})
    data = tmp_path / "current.csv"
    data.write_text("amount\n" + "\n".join(map(str, rng.normal(size=500) + 1)) + "\n")
    page = tmp_path / where
    assert main(["--uri", uri, "drift", "check", "fraud", str(data), "--html",
                 str(page)]) == 1
    assert f"cannot write the page to {str(page)!r}" in capsys.readouterr().err
    assert ops.drift.reports("fraud") == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current.csv", "store"]


def test_a_missing_store_is_an_error_not_an_empty_answer(tmp_path, capsys, monkeypatch):
    missing = str(tmp_path / "nowhere")
    for argv in (["models", "list"], ["runs", "search"], ["experiments", "list"],
                 ["models", "history", "fraud"]):
        assert main(["--uri", missing, *argv]) == 1, argv
        err = capsys.readouterr().err
        assert f"no store at {missing}: the directory does not exist (check --uri)" in err
    monkeypatch.setenv("MODELOPS_URI", missing)
    assert main(["models", "list"]) == 1
    assert "check $MODELOPS_URI" in capsys.readouterr().err
    # a command that writes makes the store
    assert main(["--uri", missing, "experiments", "create", "first"]) == 0


def test_times_print_as_iso_in_local_time_or_utc(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    import time

    time.tzset()
    try:
        uri = str(tmp_path / "store")
        ops = modelops.connect(uri)
        ops.registry.register("fraud", {"w": 1}, flavor="joblib")
        ops.registry.promote("fraud", "1.0.0")
        with ops.tracking.start_run(experiment="e", name="r") as run:
            run.log_metric("f1", 0.5)
        stamp = ops.registry.history("fraud")[0].timestamp
        local = dt.datetime.fromtimestamp(stamp / 1000).astimezone().isoformat(
            timespec="seconds")
        assert main(["--uri", uri, "models", "history", "fraud"]) == 0
        out = capsys.readouterr().out
        assert local in out and local[-6:] in ("+01:00", "+02:00")
        assert main(["--uri", uri, "--utc", "models", "history", "fraud"]) == 0
        utc = dt.datetime.fromtimestamp(stamp / 1000, dt.timezone.utc)
        assert utc.strftime("%Y-%m-%dT%H:%M:%SZ") in capsys.readouterr().out
        assert main(["--uri", uri, "runs", "show", run.run_id]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert isinstance(shown["start_time"], str) and "T" in shown["start_time"]
        assert main(["--uri", uri, "runs", "search", "e"]) == 0
        assert str(ops.tracking.get_run(run.run_id).info.start_time) not in \
            capsys.readouterr().out                           # no epoch milliseconds
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_columns_choose_what_a_wide_run_table_shows(tmp_path, capsys):
    uri = str(tmp_path / "store")
    ops = modelops.connect(uri)
    with ops.tracking.start_run(experiment="e", name="wide") as run:
        run.log_params({f"p{i}": i for i in range(20)})
        run.log_metrics({"f1": 0.9, "loss": 0.2})
    assert main(["--uri", uri, "runs", "search", "e", "--columns",
                 "run_name,metrics.*,params.p1"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["run_name", "metrics.f1", "metrics.loss", "params.p1"]
    assert row.split() == ["wide", "0.9", "0.2", "1"]
    assert main(["--uri", uri, "runs", "search", "e", "--columns", "metrics.auc"]) == 1
    assert "no column matches 'metrics.auc'" in capsys.readouterr().err


def test_refusals_name_the_command_line_options(tmp_path, capsys):
    uri = str(tmp_path / "store")
    ops = modelops.connect(uri)
    ops.registry.register("fraud", {"w": 1}, flavor="joblib")
    assert main(["--uri", uri, "models", "promote", "fraud", "1.0.0", "--stage",
                 "champion"]) == 1
    err = capsys.readouterr().err
    assert "--stage: expected one of" in err and "(aliases go in --alias)" in err
    assert "alias=" not in err
    assert main(["--uri", uri, "models", "promote", "fraud", "1.0.0", "--stage",
                 "production", "--alias", "x"]) == 1
    assert "--alias: give a stage or an alias, not both" in capsys.readouterr().err


def test_the_command_is_the_function_whatever_was_imported_before():
    # importing the submodule modelops.cli.main used to rebind the name to the module
    import modelops.cli
    import modelops.cli.main

    assert callable(modelops.cli.main) and modelops.cli.main(["plugins"]) == 0


def test_a_plugin_adds_a_command_group_through_the_hook(tmp_path, capsys):
    from modelops import plugins
    from modelops.cli.main import run

    class Hello:
        @modelops.hookimpl
        def modelops_cli_commands(self, groups):
            parser = groups.add_parser("hello", help="greet")
            parser.add_argument("who", help="whom to greet")
            parser.set_defaults(handler=self.hello)

        def hello(self, args):
            if args.who == "nobody":
                raise modelops.InvalidInput("nobody to greet", field="who")
            print(f"hello {args.who} at {args.uri}")

    plugin = Hello()
    plugins.plugin_manager().register(plugin)
    try:
        assert run(["--uri", "memory://x", "hello", "world"]) == 0
        assert capsys.readouterr().out == "hello world at memory://x\n"
        assert run(["hello", "nobody"]) == 1
        assert "modelops: who: nobody to greet" in capsys.readouterr().err
        assert run(["plugins"]) == 0                   # the built-in groups are still there
    finally:
        plugins.plugin_manager().unregister(plugin)
    with pytest.raises(SystemExit):
        run(["hello", "world"])                   # gone with its plugin
