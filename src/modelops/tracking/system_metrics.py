"""System metrics: CPU, memory, disk, network and (when available) GPU use, sampled while a
run is active by a background daemon thread and logged as the run's metrics.

Off by default. ``start_run(log_system_metrics=True)`` turns it on for one run,
``modelops.enable_system_metrics_logging()`` for every run started afterwards in this process
(``start_run(log_system_metrics=False)`` still turns it off for one). It needs psutil: ``pip
install "modelops[system-metrics]"``. GPU figures need NVIDIA's NVML bindings (``pynvml``,
from ``nvidia-ml-py``) and a GPU; without them there are none, silently.

Every ``interval`` seconds (default 10, as MLflow's; ``set_system_metrics_sampling_interval``)
one sample is logged, at steps 0, 1, 2 …, under MLflow's names:

- ``system/cpu_utilization_percentage``: the machine's CPU use since the last sample;
- ``system/system_memory_usage_megabytes``, ``system/system_memory_usage_percentage``;
- ``system/disk_usage_megabytes``, ``system/disk_usage_percentage``,
  ``system/disk_available_megabytes``: the file system holding the current directory;
- ``system/network_receive_megabytes``, ``system/network_transmit_megabytes``: received and
  sent since the run started;
- per GPU *i*: ``system/gpu_<i>_utilization_percentage``,
  ``system/gpu_<i>_memory_usage_megabytes``, ``system/gpu_<i>_memory_usage_percentage``,
  ``system/gpu_<i>_power_usage_watts``.

The thread stops when the run ends (before its last flush, so nothing is logged to an ended
run) and is a daemon, so it never keeps the interpreter alive. A sample that fails (a store
error, say) is a ``StoreWarning`` and the thread stops; the run goes on.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from typing import Any

from modelops._pacing import Pace
from modelops.errors import InvalidInput, MissingDependency

__all__ = ["disable_system_metrics_logging", "enable_system_metrics_logging",
           "set_system_metrics_sampling_interval"]

#: Seconds between samples unless set (MLflow's default).
DEFAULT_INTERVAL = 10.0
#: The prefix of every system metric's key.
PREFIX = "system/"
_MB = 1024 * 1024

_settings = {"enabled": False, "interval": DEFAULT_INTERVAL}


def _psutil() -> Any:
    try:
        import psutil
    except ImportError:
        raise MissingDependency("system metrics", "modelops[system-metrics]") from None
    return psutil


def enable_system_metrics_logging() -> None:
    """Log system metrics for every run started from now on in this process (see the
    module docstring); ``MissingDependency`` naming the extra without psutil."""
    _psutil()
    _settings["enabled"] = True


def disable_system_metrics_logging() -> None:
    """Stop logging system metrics for runs started from now on (running ones go on)."""
    _settings["enabled"] = False


def set_system_metrics_sampling_interval(seconds: float | None) -> None:
    """Seconds between two samples for runs started from now on; None: the default, 10."""
    _settings["interval"] = DEFAULT_INTERVAL if seconds is None else check_interval(seconds)


def check_interval(seconds: Any) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or \
            not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInput(f"expected a positive number of seconds, got {seconds!r}",
                           field="interval")
    return float(seconds)


def wanted(log_system_metrics: bool | None) -> float | None:
    """The sampling interval for a run about to start, or None when it logs no system
    metrics; checks for psutil first, so a missing extra refuses the run before it exists."""
    if log_system_metrics is None:
        log_system_metrics = _settings["enabled"]
    elif not isinstance(log_system_metrics, bool):
        raise InvalidInput(f"expected True, False or None, got {log_system_metrics!r}",
                           field="log_system_metrics")
    if not log_system_metrics:
        return None
    _psutil()
    return float(_settings["interval"])


class _Gpus:
    """NVML's view of the GPUs, or nothing when there is no NVML or no GPU."""

    def __init__(self) -> None:
        self.nvml: Any = None
        self.handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i)
                            for i in range(pynvml.nvmlDeviceGetCount())]
            self.nvml = pynvml
        except Exception:  # no bindings, no driver, no GPU: no GPU metrics, silently
            self.handles = []

    def sample(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for i, handle in enumerate(self.handles):
            try:
                memory = self.nvml.nvmlDeviceGetMemoryInfo(handle)
                out[f"{PREFIX}gpu_{i}_utilization_percentage"] = float(
                    self.nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
                out[f"{PREFIX}gpu_{i}_memory_usage_megabytes"] = memory.used / _MB
                out[f"{PREFIX}gpu_{i}_memory_usage_percentage"] = \
                    100.0 * memory.used / memory.total if memory.total else 0.0
                out[f"{PREFIX}gpu_{i}_power_usage_watts"] = \
                    self.nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
            except Exception:  # a GPU that stops answering: its figures are left out
                continue
        return out


class SystemMetricsMonitor:
    """Samples the machine every ``interval`` seconds into ``run``'s metrics, from a daemon
    thread, until ``stop()``."""

    def __init__(self, run: Any, interval: float) -> None:
        self._psutil = _psutil()
        self._run = run
        self.interval = check_interval(interval)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: When the sampler is due; the run's logging calls hand it the GIL when it is late
        #: (``modelops._pacing``), as a training loop could otherwise keep it waiting.
        self.pace = Pace()
        self._step = 0
        self._gpus: _Gpus | None = None
        self._net_start: Any = None
        try:
            self._disk_path = os.getcwd()
        except OSError:
            self._disk_path = os.path.abspath(os.sep)

    def start(self) -> SystemMetricsMonitor:
        self._psutil.cpu_percent(interval=None)          # the baseline of the first figure
        self._net_start = self._psutil.net_io_counters()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"modelops-system-metrics-{self._run.run_id}")
        self._thread.start()
        return self

    def sample(self) -> dict[str, float]:
        """One sample of every figure (see the module docstring)."""
        ps = self._psutil
        memory = ps.virtual_memory()
        out = {f"{PREFIX}cpu_utilization_percentage": float(ps.cpu_percent(interval=None)),
               f"{PREFIX}system_memory_usage_megabytes": memory.used / _MB,
               f"{PREFIX}system_memory_usage_percentage": float(memory.percent)}
        try:
            disk = ps.disk_usage(self._disk_path)
            out.update({f"{PREFIX}disk_usage_megabytes": disk.used / _MB,
                        f"{PREFIX}disk_usage_percentage": float(disk.percent),
                        f"{PREFIX}disk_available_megabytes": disk.free / _MB})
        except OSError:
            pass
        net = ps.net_io_counters()
        if net is not None and self._net_start is not None:
            out[f"{PREFIX}network_receive_megabytes"] = \
                (net.bytes_recv - self._net_start.bytes_recv) / _MB
            out[f"{PREFIX}network_transmit_megabytes"] = \
                (net.bytes_sent - self._net_start.bytes_sent) / _MB
        if self._gpus is None:
            self._gpus = _Gpus()         # in the thread: NVML's start-up never delays a run
        out.update(self._gpus.sample())
        return out

    def _loop(self) -> None:
        while not self.pace.wait(self._stop, self.interval):
            try:
                self._run.log_metrics(self.sample(), step=self._step)
            except Exception as exc:
                self.pace.stop()
                if self._stop.is_set():              # the run ended while sampling
                    return
                from modelops.errors import StoreWarning

                warnings.warn(f"modelops: system metrics of run {self._run.run_id} stopped: "
                              f"{type(exc).__name__}: {exc}", StoreWarning, stacklevel=1)
                return
            self._step += 1

    def stop(self) -> None:
        """Stop sampling and wait for the thread (a sample under way finishes first)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
