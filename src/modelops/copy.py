"""``copy_store``: copy everything from one store to another, whatever their backends.

It talks to both sides only through the four store interfaces, so it copies between any two
backends: local disk, memory, S3, MLflow. What it copies, and how it knows what is there:

- experiments, matched by name (a missing one is created with its tags and lifecycle);
- runs with their params, tags, status, times, parent, metric histories and artifacts; a
  copied run carries the tag ``modelops.copied_from`` (the source run's id) and, once whole,
  ``modelops.copy_complete``, so a second copy skips it; a run a previous copy left half
  done is deleted (soft) and copied again;
- registered models, matched by name; their versions, matched by semantic version, with
  their files (digests checked on the way, as the registry loads them) and records (a
  version's run is the copy of its run when that was copied); and their history (stages,
  aliases, tags, descriptions): the destination's trail is extended with the source's
  events it lacks, as long as it is a prefix of the source's (else that model's history is
  left and reported);
- drift reference profiles and reports, matched by id;
- prediction and feedback parts, matched by content (a part whose bytes the destination
  holds for that day is not written again).

A kind of store one side lacks (MLflow keeps no predictions) is skipped and reported. The
source is only read. A copy is idempotent: run again, it adds nothing; after a crash, it
goes on where it stopped.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import attrs

from modelops.entities import Experiment, FileInfo, LifecycleStage, Run, ViewType
from modelops.errors import AlreadyExists, Conflict, InvalidInput, NotFound

__all__ = ["COPIED_FROM_TAG", "COPY_COMPLETE_TAG", "KINDS", "CopyResult", "copy_store"]

#: The tag naming the source run of a copied run, and the tag set once it is whole.
COPIED_FROM_TAG = "modelops.copied_from"
COPY_COMPLETE_TAG = "modelops.copy_complete"

#: What ``copy_store`` copies, by the store kind it goes through.
KINDS = ("tracking", "registry", "drift", "predictions")

_PAGE = 1000


@attrs.frozen
class CopyResult:
    """What a copy did: per item kind (``experiments``, ``runs``, ``models``, ``versions``,
    ``events``, ``profiles``, ``reports``, ``parts``), how many were ``copied`` and how many
    were already there (``skipped``); ``notes`` say what was left out and why."""

    copied: dict[str, int]
    skipped: dict[str, int]
    notes: tuple[str, ...] = ()

    @property
    def total_copied(self) -> int:
        return sum(self.copied.values())

    def summary(self) -> str:
        """One line per item kind: ``runs: 12 copied, 3 already there``."""
        lines = [f"{k}: {self.copied.get(k, 0)} copied, {self.skipped.get(k, 0)} already there"
                 for k in sorted(set(self.copied) | set(self.skipped))]
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


class _Progress:
    """A progress line on a stream (stderr), rewritten in place at most ten times a second."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream = stream
        self._last = 0.0
        self._shown = False

    def __call__(self, what: str, done: int, total: int | None = None) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and (total is None or done < total):
            return
        self._last = now
        text = f"{what} {done}/{total}" if total is not None else f"{what} {done}"
        self.stream.write(f"\rmodelops copy: {text}\x1b[K")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self.stream is not None and self._shown:
            self.stream.write("\n")
            self.stream.flush()


class _Tally:
    def __init__(self) -> None:
        self.copied: dict[str, int] = {}
        self.skipped: dict[str, int] = {}
        self.notes: list[str] = []

    def add(self, kind: str, copied: bool) -> None:
        target = self.copied if copied else self.skipped
        target[kind] = target.get(kind, 0) + 1

    def result(self) -> CopyResult:
        return CopyResult(dict(self.copied), dict(self.skipped), tuple(self.notes))


def _check_places(src_uri: Any, dst_uri: Any) -> None:
    """``NotFound`` for a local source that is no directory (it would read as an empty store
    and copy nothing); ``InvalidInput`` for local stores one inside the other (the copy would
    land among what it copies)."""
    from modelops.uri import parse_uri

    src, dst = parse_uri(src_uri), parse_uri(dst_uri)
    if src.scheme != "file":
        return
    source = os.path.realpath(src.path)
    target = os.path.realpath(dst.path) if dst.scheme == "file" else None
    if target == source:
        return      # the same store: refused once both are open
    if not os.path.isdir(source):
        raise NotFound(f"no store at {src.path}: not a directory")
    if target is not None and os.path.commonpath((source, target)) in (source, target):
        raise InvalidInput(f"one store is inside the other ({src.path}, {dst.path})",
                           field="dst_uri")


def copy_store(src_uri: str | os.PathLike[str], dst_uri: str | os.PathLike[str], *,
               kinds: Sequence[str] = KINDS, progress: bool | None = None,
               src_options: dict[str, Any] | None = None,
               dst_options: dict[str, Any] | None = None) -> CopyResult:
    """Copy experiments, runs, models (versions, stages, aliases, history), drift profiles
    and reports, and predictions from the store at ``src_uri`` to the one at ``dst_uri``.

    Idempotent: what the destination already holds is skipped (see the module docstring for
    how each item is matched). ``kinds`` limits the copy to some of ``tracking``,
    ``registry``, ``drift``, ``predictions``. ``progress`` writes a progress line to stderr
    (default: when stderr is a terminal). ``src_options`` and ``dst_options`` are each
    side's ``storage_options``. Returns a ``CopyResult``.
    """
    from modelops.client import open_client

    wanted = tuple(kinds)
    unknown = sorted(set(wanted) - set(KINDS))
    if unknown or not wanted:
        raise InvalidInput(f"expected some of {', '.join(KINDS)}, got {list(wanted)!r}",
                           field="kinds")
    _check_places(src_uri, dst_uri)
    src = open_client(src_uri, storage_options=src_options)
    dst = open_client(dst_uri, storage_options=dst_options)
    if src.uri == dst.uri:
        raise InvalidInput(f"source and destination are the same store ({src.uri})",
                           field="dst_uri")
    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = _Progress(sys.stderr if show else None)
    tally = _Tally()
    try:
        run_ids: dict[str, str] = {}
        for kind in KINDS:
            if kind not in wanted:
                continue
            stores = _stores(src, dst, kind, tally)
            if stores is None:
                continue
            if kind == "tracking":
                run_ids = _Tracking(*stores, tally, bar).copy()
            elif kind == "registry":
                _copy_registry(*stores, run_ids, tally, bar)
            elif kind == "drift":
                _copy_drift(*stores, tally, bar)
            else:
                _copy_predictions(*stores, tally, bar)
    finally:
        bar.close()
        src.close()
        dst.close()
    return tally.result()


def _stores(src: Any, dst: Any, kind: str, tally: _Tally) -> tuple[Any, Any] | None:
    pair = []
    for side, client in (("source", src), ("destination", dst)):
        try:
            pair.append(client.store(kind))
        except NotFound as exc:
            tally.notes.append(f"{kind} not copied: the {side} has no {kind} store ({exc})")
            return None
    return pair[0], pair[1]


# -- tracking ---------------------------------------------------------------------------------

class _Tracking:
    """Copies experiments and runs from one TrackingStore to another."""

    def __init__(self, src: Any, dst: Any, tally: _Tally, bar: _Progress) -> None:
        self.src, self.dst, self.tally, self.bar = src, dst, tally, bar
        self.run_ids: dict[str, str] = {}

    def copy(self) -> dict[str, str]:
        experiments = self.src.list_experiments(ViewType.ALL)
        plans = []
        total = 0
        for exp in experiments:
            runs = _all_runs(self.src, exp.experiment_id)
            plans.append((exp, runs))
            total += len(runs)
        done = 0
        for exp, runs in plans:
            target = self._experiment(exp)
            existing = self._copied_runs(target.experiment_id)
            for run in _parents_first(runs):
                self._run(run, target, existing)
                done += 1
                self.bar("runs", done, total)
            if exp.lifecycle_stage is LifecycleStage.DELETED and \
                    target.lifecycle_stage is not LifecycleStage.DELETED:
                self.dst.set_experiment_lifecycle(target.experiment_id, deleted=True)
        return self.run_ids

    def _experiment(self, exp: Experiment) -> Experiment:
        found = self.dst.get_experiment_by_name(exp.name)
        if found is not None:
            self.tally.add("experiments", copied=False)
            if found.lifecycle_stage is LifecycleStage.DELETED:
                # Runs are added to it, then it is deleted again if the source's is.
                self.dst.set_experiment_lifecycle(found.experiment_id, deleted=False)
                found = self.dst.get_experiment(found.experiment_id)
                if exp.lifecycle_stage is not LifecycleStage.DELETED:
                    return found
                return attrs.evolve(found, lifecycle_stage=LifecycleStage.ACTIVE)
            return found
        try:
            created = self.dst.create_experiment(exp.name, tags=dict(exp.tags))
        except AlreadyExists:  # created meanwhile by another copy
            self.tally.add("experiments", copied=False)
            return self.dst.get_experiment_by_name(exp.name)
        self.tally.add("experiments", copied=True)
        return created

    def _copied_runs(self, experiment_id: str) -> dict[str, Run]:
        """Source run id -> its complete copy; half-done copies are deleted."""
        out: dict[str, Run] = {}
        for run in _all_runs(self.dst, experiment_id):
            source = run.tags.get(COPIED_FROM_TAG)
            if source is None:
                continue
            if run.tags.get(COPY_COMPLETE_TAG) == "true":
                out[source] = run
            elif run.info.lifecycle_stage is LifecycleStage.ACTIVE:
                self.dst.set_run_lifecycle(run.run_id, deleted=True)
        return out

    def _run(self, run: Run, target: Experiment, existing: dict[str, Run]) -> None:
        done = existing.get(run.run_id)
        if done is not None:
            self.run_ids[run.run_id] = done.run_id
            self.tally.add("runs", copied=False)
            return
        info = run.info
        parent = self.run_ids.get(info.parent_run_id) if info.parent_run_id else None
        tags = {**run.tags, COPIED_FROM_TAG: run.run_id}
        tags.pop(COPY_COMPLETE_TAG, None)
        copy = self.dst.create_run(target.experiment_id, run_name=info.run_name,
                                   start_time=info.start_time, tags=tags,
                                   parent_run_id=parent, user=info.user)
        histories = [self.src.get_metric_history(run.run_id, key) for key in run.data.latest]
        self.dst.log_batch(copy.run_id, [h for h in histories if len(h)], dict(run.params))
        self._artifacts(run.run_id, copy.run_id)
        self.dst.update_run(copy.run_id, status=info.status, end_time=info.end_time)
        self.dst.log_batch(copy.run_id, tags={COPY_COMPLETE_TAG: "true"})
        if info.lifecycle_stage is LifecycleStage.DELETED:
            self.dst.set_run_lifecycle(copy.run_id, deleted=True)
        self.run_ids[run.run_id] = copy.run_id
        self.tally.add("runs", copied=True)

    def _artifacts(self, src_run: str, dst_run: str) -> None:
        files = list(_artifact_files(self.src, src_run, None))
        if not files:
            return
        with tempfile.TemporaryDirectory(prefix="modelops-copy-") as tmp:
            for f in files:
                local = self.src.download_artifact(src_run, f.path, tmp)
                self.dst.log_artifact(dst_run, local, f.path)


def _all_runs(store: Any, experiment_id: str) -> list[Run]:
    out: list[Run] = []
    token = None
    while True:
        page = store.search_runs([experiment_id], max_results=_PAGE, page_token=token,
                                 view=ViewType.ALL)
        out.extend(page.items)
        token = page.token
        if token is None:
            return out


def _parents_first(runs: list[Run]) -> list[Run]:
    """Runs oldest first, each after its parent (when the parent is among them)."""
    ordered = sorted(runs, key=lambda r: (r.info.start_time, r.run_id))
    ids = {r.run_id for r in runs}
    placed: set[str] = set()
    out: list[Run] = []
    pending = ordered
    while pending:
        rest = []
        for run in pending:
            parent = run.info.parent_run_id
            if parent is None or parent not in ids or parent in placed:
                out.append(run)
                placed.add(run.run_id)
            else:
                rest.append(run)
        if len(rest) == len(pending):  # a cycle: cannot happen, but never loop forever
            out.extend(rest)
            break
        pending = rest
    return out


def _artifact_files(store: Any, run_id: str, path: str | None) -> Iterable[FileInfo]:
    for entry in store.list_artifacts(run_id, path):
        if entry.is_dir:
            yield from _artifact_files(store, run_id, entry.path)
        else:
            yield entry


# -- registry ---------------------------------------------------------------------------------

def _copy_registry(src: Any, dst: Any, run_ids: dict[str, str], tally: _Tally,
                   bar: _Progress) -> None:
    models = src.list_models()
    plans = [(m, src.list_versions(m.name)) for m in models]
    total = sum(len(v) for _, v in plans)
    done = 0
    for model, versions in plans:
        try:
            dst.create_model(attrs.evolve(model, deleted=False))
            tally.add("models", copied=True)
        except AlreadyExists:
            tally.add("models", copied=False)
        have = {v.version for v in dst.list_versions(model.name)}
        for listed in versions:
            if listed.version in have:
                tally.add("versions", copied=False)
            else:
                _copy_version(src, dst, src.get_version(model.name, listed.version), run_ids)
                tally.add("versions", copied=True)
            done += 1
            bar("model versions", done, total)
        _copy_events(src, dst, model.name, tally)


def _copy_version(src: Any, dst: Any, record: Any, run_ids: dict[str, str]) -> None:
    from modelops.registry.service import _digest_files

    with tempfile.TemporaryDirectory(prefix="modelops-copy-") as tmp:
        src.download_version(record.name, record.version, tmp)
        found = {f.path: f for f in _digest_files(tmp)}
        for f in record.files:
            got = found.get(f.path)
            if got is None or got.sha256 != f.sha256:
                from modelops.errors import IntegrityError

                raise IntegrityError(f"{record.name} {record.version}: file {f.path!r} is "
                                     "missing or does not match its digest in the source; "
                                     "nothing of it was copied")
        files = {f.path: os.path.join(tmp, *f.path.split("/")) for f in record.files}
        run_id = run_ids.get(record.run_id, record.run_id) if record.run_id else None
        copy = attrs.evolve(record, run_id=run_id, artifact_location="")
        with contextlib.suppress(AlreadyExists):  # registered meanwhile by another copy
            dst.create_version(copy, files)


def _copy_events(src: Any, dst: Any, name: str, tally: _Tally) -> None:
    theirs = src.list_events(name)
    ours = dst.list_events(name)
    if [_event_key(e) for e in ours] != [_event_key(e) for e in theirs[:len(ours)]]:
        tally.notes.append(f"the history of model {name!r} differs in the destination; "
                           "its events were not copied")
        return
    for _ in ours:
        tally.add("events", copied=False)
    for event in theirs[len(ours):]:
        try:
            dst.append_event(event)
        except Conflict:
            tally.notes.append(f"the history of model {name!r} grew in the destination while "
                               "copying; its remaining events were not copied")
            return
        tally.add("events", copied=True)


def _event_key(event: Any) -> tuple[Any, ...]:
    return (event.seq, event.action, event.timestamp, event.changes)


# -- drift ------------------------------------------------------------------------------------

def _copy_drift(src: Any, dst: Any, tally: _Tally, bar: _Progress) -> None:
    for name in src.list_names():
        have = {p.profile_id for p in dst.list_profiles(name)}
        for profile in src.list_profiles(name):
            copied = profile.profile_id not in have
            if copied:
                dst.save_profile(profile)
            tally.add("profiles", copied)
        have = {r.report_id for r in dst.list_reports(name)}
        reports = src.list_reports(name)
        for i, report in enumerate(reports, 1):
            copied = report.report_id not in have
            if copied:
                dst.save_report(report)
            tally.add("reports", copied)
            bar(f"drift reports of {name}", i, len(reports))


# -- predictions ------------------------------------------------------------------------------

def _copy_predictions(src: Any, dst: Any, tally: _Tally, bar: _Progress) -> None:
    from modelops.stores.predictions import KINDS as RECORD_KINDS

    for model in src.list_models():
        for kind in RECORD_KINDS:
            parts = src.list_parts(model, kind)
            have: dict[str, set[str]] = {}
            for i, part in enumerate(parts, 1):
                if part.day not in have:
                    have[part.day] = {_digest(dst.read_part(model, p))
                                      for p in dst.list_parts(model, kind, part.day, part.day)}
                data = src.read_part(model, part)
                digest = _digest(data)
                copied = digest not in have[part.day]
                if copied:
                    # The time range goes with the part, so reads of a window still skip it.
                    span = None if part.first_ts is None or part.last_ts is None \
                        else (part.first_ts, part.last_ts)
                    dst.write_part(model, kind, part.day, data, span=span, fmt=part.fmt)
                    have[part.day].add(digest)
                tally.add("parts", copied)
                bar(f"{kind} of {model}", i, len(parts))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()

