import subprocess
import sys

from conftest import python_env

HEAVY = ["scipy", "sklearn", "joblib", "mlflow", "numpy", "pandas", "fsspec",
         "fsspec.implementations.local", "fsspec.implementations.memory", "s3fs", "hypothesis",
         "pytest", "psutil", "pynvml"]


def test_import_modelops_loads_nothing_heavy():
    code = ("import sys, modelops; "
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=python_env()).stdout.strip()
    assert out == "", f"import modelops loaded {out}"


def test_connect_loads_no_scientific_package():
    code = ("import sys, modelops; ops = modelops.connect('memory://'); "
            "ops.tracking.list_experiments(); "
            "print(','.join(m for m in ('scipy', 'sklearn', 'joblib', 'mlflow') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=python_env()).stdout.strip()
    assert out == ""


def test_a_run_loads_psutil_only_when_it_samples_system_metrics():
    code = ("import sys, modelops; ops = modelops.connect('memory://')\n"
            "with ops.tracking.start_run(): pass\n"
            "print('psutil' in sys.modules, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=python_env()).stdout.strip()
    assert out == "False False"


def test_public_api_is_exported_and_documented():
    import modelops

    for name in modelops.__all__:
        obj = getattr(modelops, name)
        if callable(obj) and not name.startswith("__"):
            assert obj.__doc__, f"modelops.{name} has no docstring"
