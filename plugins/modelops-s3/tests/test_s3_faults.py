"""Transient failures are retried with backoff, then surface as StoreError; a write that
failed half-way leaves nothing visible; a bucket that is unreachable for a while loses no
prediction.

Real network faults come from a TCP proxy in front of the server (``FlakyProxy``); what the
server cannot be made to answer (throttling, 500s, an answer lost after the write happened)
comes from a wrapping filesystem (``FaultyFS``).
"""

from __future__ import annotations

import time

import pytest
from modelops_s3 import RetryPolicy, S3Storage, is_transient, open_storage
from s3_faults import (
    FaultyFS,
    FlakyProxy,
    access_denied,
    connection_closed,
    server_error,
    throttled,
)
from s3_support import BUCKET, fresh_prefix

import modelops
from modelops.backends.layout.registry import LayoutRegistryStore
from modelops.errors import AlreadyExists, StoreError
from modelops.registry import Registry

FAST = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.005)


@pytest.fixture
def faulty(s3_server) -> FaultyFS:
    return FaultyFS(s3_server.filesystem())


@pytest.fixture
def storage(faulty) -> S3Storage:
    storage = open_storage("s3", f"{BUCKET}/{fresh_prefix('faults')}", fs=faulty)
    storage.retry = FAST
    return storage


@pytest.fixture
def raw(s3_server):
    return s3_server.filesystem()


@pytest.fixture
def proxy(s3_server):
    proxy = FlakyProxy(s3_server.port).start()
    yield proxy
    proxy.stop()


# -- which failures are transient ---------------------------------------------------------------

@pytest.mark.parametrize("make", [throttled, server_error, connection_closed,
                                  lambda: ConnectionResetError(104, "reset by peer"),
                                  lambda: TimeoutError("read timed out")])
def test_transient_failures(make):
    assert is_transient(make())


@pytest.mark.parametrize("make", [access_denied, lambda: FileNotFoundError("x"),
                                  lambda: ValueError("a bug")])
def test_permanent_failures(make):
    assert not is_transient(make())


def test_backoff_grows_and_is_bounded():
    policy = RetryPolicy(attempts=8, base_delay=0.1, max_delay=1.0)
    for _ in range(50):
        delays = list(policy.delays())
        assert len(delays) == 7
        assert all(0 <= d <= min(1.0, 0.1 * 2 ** n) for n, d in enumerate(delays))


# -- retried, then StoreError -------------------------------------------------------------------

@pytest.mark.parametrize("make", [throttled, server_error, connection_closed])
def test_a_throttled_or_failing_write_is_retried(storage, faulty, raw, make):
    faulty.fail("pipe_file", make, times=2)
    storage.create("claims/v1.json", b"claim")
    assert faulty.calls["pipe_file"] == 3
    assert raw.cat_file(f"{storage.root}/claims/v1.json") == b"claim"


def test_reads_and_listings_are_retried(storage, faulty):
    storage.replace("a/b", b"1")
    faulty.fail("cat_file", server_error, times=2)
    faulty.fail("call_s3", throttled, times=2, when=lambda op, **kw: op == "list_objects_v2")
    assert storage.read_bytes("a/b") == b"1"
    assert storage.listdir("a") == ["b"]
    assert faulty.injected == 4


def test_persistent_throttling_surfaces_as_store_error(storage, faulty, raw):
    faulty.fail("pipe_file", throttled, times=100)
    with pytest.raises(StoreError) as info:
        storage.create("claims/v1.json", b"claim")
    message = str(info.value)
    assert f"s3://{storage.root}/claims/v1.json" in message
    assert "SlowDown" in message and "after 4 attempts" in message
    assert faulty.calls["pipe_file"] == FAST.attempts
    assert not raw.exists(f"{storage.root}/claims/v1.json")


def test_a_permanent_error_is_not_retried(storage, faulty):
    faulty.fail("cat_file", access_denied, times=100)
    with pytest.raises(StoreError, match=r"AccessDenied|Access Denied"):
        storage.read_bytes("x")
    assert faulty.calls["cat_file"] == 1


def test_a_missing_bucket_is_named(s3_server):
    storage = open_storage("s3", "no-such-bucket-here/p", s3_server.storage_options())
    with pytest.raises(StoreError, match="bucket 'no-such-bucket-here' does not exist"):
        storage.create("x", b"1")
    with pytest.raises(StoreError, match="does not exist"):
        storage.listdir("")


def test_through_the_client_a_store_error_names_the_store(s3_uri, s3_server):
    ops = modelops.connect(s3_uri, storage_options={"endpoint_url": "http://127.0.0.1:9",
                                                    "retries": 2})
    with pytest.raises(StoreError, match=s3_uri.replace("s3://", "")):
        ops.tracking.create_experiment("unreachable")


# -- an answer lost after the write happened ----------------------------------------------------

def test_a_claim_whose_answer_was_lost_is_still_ours(storage, faulty):
    """The conditional PUT reached the server, the connection dropped before its answer;
    the retry finds the key taken — by this very call's bytes — and succeeds."""
    faulty.fail("pipe_file", connection_closed, after=True)
    storage.create("claims/v1.json", b"mine")
    assert faulty.calls["pipe_file"] == 2
    assert storage.read_bytes("claims/v1.json") == b"mine"


@pytest.mark.parametrize("theirs", [b"theirs", b"mine"])
def test_a_lost_answer_does_not_steal_someone_elses_claim(storage, faulty, theirs):
    """Another writer's object — even one with the very same bytes — stays theirs."""
    other = open_storage("s3", storage.root, fs=faulty._fs)
    other.create("claims/v1.json", theirs)
    faulty.fail("pipe_file", connection_closed)
    with pytest.raises(FileExistsError):
        storage.create("claims/v1.json", b"mine")
    assert storage.read_bytes("claims/v1.json") == theirs


def test_a_silent_retry_by_the_http_client_is_recognised(storage, faulty):
    """The HTTP client may resend a PUT on a fresh connection by itself (aiohttp does, once,
    for idempotent methods); if the first one had landed, the resend gets 412 — and the
    create is still recognised as this call's."""
    real = faulty._fs.pipe_file

    def lands_then_resent(path, data, **kwargs):
        real(path, data, **kwargs)          # the first send lands; its answer is lost
        return real(path, data, **kwargs)   # the resend finds the key taken

    faulty._fs = _Override(faulty._fs, pipe_file=lands_then_resent)
    storage.create("claims/v1.json", b"mine")
    assert storage.read_bytes("claims/v1.json") == b"mine"
    with pytest.raises(FileExistsError):
        storage.create("claims/v1.json", b"mine")


class _Override:
    def __init__(self, target, **methods):
        self._target, self._methods = target, methods

    def __getattr__(self, name):
        return self._methods.get(name) or getattr(self._target, name)


def test_register_survives_a_lost_answer_and_a_throttle(storage, faulty, tmp_path):
    registry = Registry(LayoutRegistryStore(storage))
    faulty.fail("pipe_file", connection_closed, after=True,
                when=lambda path, data, **kw: path.endswith("/versions/1.0.0.json"))
    # A small artifact is uploaded from memory (one PUT of its blob).
    faulty.fail("pipe_file", throttled, when=lambda path, data, **kw: "/blobs/" in path)
    (tmp_path / "m.txt").write_text("weights")
    version = registry.register("fraud", str(tmp_path / "m.txt"), version="1.0.0")
    assert faulty.injected == 2
    assert [v.version for v in registry.list_versions("fraud")] == ["1.0.0"]
    registry.download("fraud", "1.0.0", str(tmp_path / "out"))
    assert (tmp_path / "out" / "data" / "m.txt").read_text() == "weights"
    assert version.version == "1.0.0"


def test_a_flush_whose_summary_cannot_be_written_is_not_logged_twice(storage, faulty):
    """The segment of a flush is stored, then every write of the run's summary (a derived
    object) fails: the flush still counts as done — the points are not logged a second
    time by the next flush — and readers see them all."""
    from modelops.backends.layout.tracking import LayoutTrackingStore
    from modelops.tracking import Tracking

    tracking = Tracking(LayoutTrackingStore(storage))
    run = tracking.start_run(experiment="e")
    faulty.fail("pipe_file", server_error, times=1000,
                when=lambda path, data, **kw: path.endswith("/summary.json"))
    for i in range(10):
        run.log_metric("loss", float(i), step=i)
    run.flush()
    faulty.heal()
    run.log_metric("loss", 10.0, step=10)
    run.end()
    history = tracking.get_metric_history(run.run_id, "loss")
    assert history.steps.tolist() == list(range(11))
    assert tracking.get_run(run.run_id).metrics["loss"] == 10.0


def test_a_run_whose_first_summary_cannot_be_written_is_created_once(storage, faulty):
    """Creating a run stores run.json, then its summary (derived) cannot be written: the run
    is created all the same (an error would make the caller create a second one), reads
    back from run.json, and its first flush writes the summary, which a search sees."""
    from modelops.backends.layout.tracking import LayoutTrackingStore
    from modelops.tracking import Tracking

    tracking = Tracking(LayoutTrackingStore(storage))
    faulty.fail("pipe_file", server_error, times=1000,
                when=lambda path, data, **kw: path.endswith("/summary.json"))
    run = tracking.start_run(experiment="e", name="only")
    assert faulty.injected > 0
    assert tracking.get_run(run.run_id).info.run_name == "only"
    faulty.heal()
    run.log_metric("f1", 0.9)
    run.end()
    found = tracking.search_runs("e")
    assert [r.run_id for r in found] == [run.run_id]
    assert found[0].metrics["f1"] == 0.9


# -- half-way writes leave nothing --------------------------------------------------------------

def test_a_register_that_fails_half_way_leaves_nothing_visible(storage, faulty, tmp_path):
    """The artifact upload fails for good: StoreError, no version listed; registering the
    same version later works, as if nothing had happened."""
    registry = Registry(LayoutRegistryStore(storage))
    (tmp_path / "m.txt").write_text("weights")
    faulty.fail("pipe_file", server_error, times=100,
                when=lambda path, data, **kw: "/blobs/" in path)
    with pytest.raises(StoreError):
        registry.register("fraud", str(tmp_path / "m.txt"), version="1.0.0")
    assert registry.list_versions("fraud") == []
    faulty.heal()
    assert registry.register("fraud", str(tmp_path / "m.txt"), version="1.0.0").version == \
        "1.0.0"
    with pytest.raises(AlreadyExists):
        registry.register("fraud", str(tmp_path / "m.txt"), version="1.0.0")


def test_a_connection_dropped_mid_upload_leaves_nothing(proxy, tmp_path):
    """The network drops every connection after 64 KB of a 1 MB upload: the write fails
    with StoreError and no object, not even a part of one, is in the bucket. Dropped once
    only, the write goes through whole on a later try."""
    storage = open_storage("s3", f"{BUCKET}/{fresh_prefix('midway')}",
                           {"endpoint_url": proxy.endpoint_url})
    storage.retry = RetryPolicy(attempts=3, base_delay=0.01)
    data = bytes(range(256)) * 4096
    proxy.drop_after(64 * 1024, times=1000)
    with pytest.raises(StoreError, match="after 3 attempts"):
        storage.create("blobs/big", data)
    assert proxy.dropped >= 3
    proxy.clear_drops()
    assert not storage.exists("blobs/big") and storage.listdir("") == []
    proxy.drop_after(64 * 1024, times=1)
    storage.create("blobs/big", data)
    assert storage.read_bytes("blobs/big") == data


def test_an_artifact_upload_dropped_mid_way_is_retried_whole(proxy, tmp_path, s3_server):
    options = {"endpoint_url": proxy.endpoint_url}
    ops = modelops.connect(f"s3://{BUCKET}/{fresh_prefix('artifact')}", storage_options=options)
    local = tmp_path / "confusion.bin"
    local.write_bytes(bytes(range(256)) * 2048)
    with ops.tracking.start_run(experiment="e") as run:
        proxy.drop_after(100_000, times=2)
        run.log_artifact(str(local))
    assert proxy.dropped == 2
    out = ops.tracking.download_artifacts(run.run_id, "confusion.bin", str(tmp_path / "out"))
    with open(out, "rb") as f:
        assert f.read() == local.read_bytes()


# -- an outage -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_logger_whose_bucket_is_unreachable_for_ten_seconds_loses_nothing(proxy, s3_server):
    """Predictions logged before, during and after a 10 s outage of the endpoint (connections
    refused, open ones reset) are all stored once it comes back."""
    uri = f"s3://{BUCKET}/{fresh_prefix('outage')}"
    ops = modelops.connect(uri, storage_options={"endpoint_url": proxy.endpoint_url})
    log = ops.predictions.logger("fraud", flush_every=0.2, max_retry_delay=1.0)
    ids = [log.log({"i": i}, i) for i in range(100)]
    assert log.flush(timeout=30)
    proxy.cut()
    cut_at = time.monotonic()
    while time.monotonic() - cut_at < 10:
        ids += [log.log({"i": i}, i) for i in range(len(ids), len(ids) + 50)]
        time.sleep(0.5)
    assert not log.flush(timeout=0.5)  # nothing can be written while it is down
    during = log.stats
    assert during.retries > 0 and during.dropped == 0 and during.pending > 0
    proxy.restore()
    ids += [log.log({"i": i}, i) for i in range(len(ids), len(ids) + 100)]
    assert log.close(timeout=60)
    assert log.stats.dropped == 0 and log.stats.pending == 0
    # Read back through the server directly, with another client.
    table = modelops.connect(uri).predictions.read("fraud")
    assert sorted(table.ids.tolist()) == sorted(ids)
    assert sorted(table.predictions.tolist()) == list(range(len(ids)))
