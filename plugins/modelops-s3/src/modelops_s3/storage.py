"""S3Storage: the layout store's primitives with S3's own operations.

S3 has no rename, no append and no lock, but it has what the layout needs:

- ``create`` is a conditional PUT (``If-None-Match: *``): of two machines creating one key,
  exactly one gets 200 and the other 412, so version and name claims are exclusive.
- ``replace`` is a plain PUT, which S3 applies atomically: readers see the old object or the
  new one, never a mix. Large files go up as multipart uploads, which become visible only
  when completed, so an upload cut off half-way leaves nothing.
- Listings are ``ListObjectsV2`` with a ``/`` delimiter, page by page (1,000 keys a page);
  ``signatures`` lists a whole prefix at once and reads each object's ETag from the listing,
  so revalidating a search cache of thousands of runs costs one request per 1,000 objects.
- Every request is retried on throttling, server errors and dropped connections (see
  ``modelops_s3.retry``) and then fails with a ``StoreError`` naming the object.

A conditional PUT whose answer was lost (the connection dropped after the server stored the
object) is retried like any other; if the retry finds the key taken, the object's metadata
says whether this very call wrote it (each create stores a token of its own with the object),
so a lost answer is never mistaken for a lost race, and a race is never mistaken for a win.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from modelops._ids import new_id
from modelops.backends.layout.storage import Signature, Storage, confined
from modelops.errors import StoreError
from modelops_s3.retry import RetryPolicy, error_code, error_message, is_transient

T = TypeVar("T")

#: Keys per DeleteObjects request (S3's limit).
_DELETE_BATCH = 1000

#: The user-metadata key (``x-amz-meta-modelops-claim``) under which ``create`` stores a token
#: of the call that wrote the object.
_CLAIM_TOKEN = "modelops-claim"


class S3Storage(Storage):
    """The layout's storage primitives on one bucket and key prefix of S3.

    ``fs`` is an ``s3fs.S3FileSystem`` (or anything with its methods: ``cat_file``,
    ``pipe_file``, ``put_file``, ``get_file``, ``call_s3``). ``prefix`` may be empty (the
    bucket's root). ``scheme`` is how URIs of this storage are spelled (``s3`` or ``s3a``).
    """

    #: Keys asked for per listing request (S3 answers at most 1,000).
    page_size = 1000

    def __init__(self, fs: Any, bucket: str, prefix: str = "", *, scheme: str = "s3",
                 retry: RetryPolicy | None = None) -> None:
        self.fs = fs
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.scheme = scheme
        self.retry = retry or RetryPolicy()
        self.root = f"{bucket}/{self.prefix}" if self.prefix else bucket
        self.uri = f"{scheme}://{self.root}"
        # ETags of this process's own latest PUTs, handed to the next signature() of the key.
        self._put_etags: dict[str, Signature] = {}
        self._etag_lock = threading.Lock()

    # -- names ------------------------------------------------------------------------------

    def _key(self, rel: str) -> str:
        if not rel:
            return self.prefix
        confined(rel)
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _dir_key(self, rel: str) -> str:
        """The key prefix of everything below ``rel`` ("" for the bucket's root)."""
        key = self._key(rel)
        return f"{key}/" if key else ""

    def _path(self, rel: str) -> str:
        return f"{self.bucket}/{self._key(rel)}"

    def uri_of(self, rel: str) -> str:
        return f"{self.uri}/{rel}" if rel else self.uri

    # -- retries ----------------------------------------------------------------------------

    def _run(self, what: str, rel: str, fn: Callable[[], T]) -> T:
        """``fn()``, retried on transient failures; other failures become ``StoreError``.

        ``FileNotFoundError`` and ``FileExistsError`` pass through (the layout relies on
        them), except a missing bucket, which is a configuration error.
        """
        delays = self.retry.delays()
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except (FileNotFoundError, FileExistsError) as exc:
                if error_code(exc) == "NoSuchBucket":
                    raise StoreError(
                        f"{what} {self.uri_of(rel)} failed: bucket {self.bucket!r} does not "
                        "exist (modelops never creates buckets; create it first)") from exc
                raise
            except Exception as exc:
                if not _is_storage_error(exc):
                    raise
                delay = next(delays, None) if is_transient(exc) else None
                if delay is None:
                    tries = f" after {attempt} attempts" if attempt > 1 else ""
                    raise StoreError(f"{what} {self.uri_of(rel)} failed{tries}: "
                                     f"{_describe(exc)}") from exc
                time.sleep(delay)

    # -- reading ----------------------------------------------------------------------------

    def read_bytes(self, rel: str) -> bytes:
        path = self._path(rel)
        # max_concurrency=1: one GET, without s3fs first asking for the size with a HEAD.
        return self._run("reading", rel, lambda: self.fs.cat_file(path, max_concurrency=1))

    def read_range(self, rel: str, start: int, end: int | None = None) -> bytes:
        if end is None or start < 0:
            return self.read_bytes(rel)[start:end]
        if end <= start:
            return b""
        path = self._path(rel)
        # One ranged GET (a Parquet footer, a row group), not the whole object.
        return self._run("reading", rel, lambda: self.fs.cat_file(path, start=start, end=end,
                                                                   max_concurrency=1))

    def _head(self, rel: str) -> dict[str, Any] | None:
        key = self._key(rel)
        try:
            return self._run("checking", rel, lambda: self.fs.call_s3(
                "head_object", Bucket=self.bucket, Key=key))
        except FileNotFoundError:
            return None

    def _pages(self, rel: str, *, delimiter: bool, what: str = "listing",
               limit: int | None = None) -> Iterator[dict[str, Any]]:
        """The ListObjectsV2 pages below ``rel``, following continuation tokens."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self._dir_key(rel)}
        if delimiter:
            kwargs["Delimiter"] = "/"
        kwargs["MaxKeys"] = limit if limit is not None else self.page_size
        while True:
            page = self._run(what, rel, lambda kw=dict(kwargs): self.fs.call_s3(
                "list_objects_v2", **kw))
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token or limit is not None:
                return
            kwargs["ContinuationToken"] = token

    def list_detail(self, rel: str) -> list[tuple[str, bool, int | None]]:
        start = len(self._dir_key(rel))
        out = []
        for page in self._pages(rel, delimiter=True):
            for p in page.get("CommonPrefixes", ()):
                name = p["Prefix"][start:].rstrip("/")
                if _addressable(name):
                    out.append((name, True, None))
            for obj in page.get("Contents", ()):
                name = obj["Key"][start:]
                if "/" not in name and _addressable(name):  # not "folder/" markers of others
                    out.append((name, False, int(obj["Size"])))
        return sorted(out)

    def listdir(self, rel: str) -> list[str]:
        return [name for name, _, _ in self.list_detail(rel)]

    def walk_files(self, rel: str) -> Iterator[tuple[str, int | None]]:
        # One flat listing of the prefix instead of a listing per folder.
        start = len(self._dir_key(rel))
        for page in self._pages(rel, delimiter=False):
            for obj in page.get("Contents", ()):
                name = obj["Key"][start:]
                if not name.endswith("/") and _addressable(name):
                    yield name, int(obj["Size"])

    def is_dir(self, rel: str) -> bool:
        page = next(self._pages(rel, delimiter=False, what="checking", limit=1))
        return bool(page.get("KeyCount") or page.get("Contents"))

    def exists(self, rel: str) -> bool:
        return self._head(rel) is not None or self.is_dir(rel)

    def signature(self, rel: str) -> Signature:
        with self._etag_lock:
            own = self._put_etags.pop(rel, None)
        if own is not None:
            # The ETag of the bytes this process just wrote: the caller pairs it with those
            # bytes, so a concurrent overwrite by someone else still shows as a change.
            return own
        head = self._head(rel)
        return None if head is None else (head["ETag"], int(head["ContentLength"]))

    def signatures(self, rel: str, child_file: str) -> dict[str, Signature]:
        start = len(self._dir_key(rel))
        suffix = f"/{child_file}"
        out: dict[str, Signature] = {}
        for page in self._pages(rel, delimiter=False):
            for obj in page.get("Contents", ()):
                name = obj["Key"][start:]
                folder, sep, _ = name.partition("/")
                if not sep or not folder:
                    continue
                if name == folder + suffix:
                    out[folder] = (obj["ETag"], int(obj["Size"]))
                else:
                    out.setdefault(folder, None)
        return out

    # -- writing ----------------------------------------------------------------------------

    def _remember_etag(self, rel: str, response: Any, size: int) -> None:
        etag = response.get("ETag") if isinstance(response, dict) else None
        if etag:
            with self._etag_lock:
                self._put_etags[rel] = (etag, size)
                if len(self._put_etags) > 10_000:  # never read back: forget the oldest
                    self._put_etags.pop(next(iter(self._put_etags)))

    def create(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        # A token of this call rides along as object metadata: when a retry (ours, or the
        # HTTP client's own silent one) finds the key taken, the token says whether the
        # object is this call's write, whose answer was lost, or someone else's.
        token = new_id()
        try:
            response = self._run("creating", rel, lambda: self.fs.pipe_file(
                path, data, mode="create", Metadata={_CLAIM_TOKEN: token}))
        except FileExistsError:
            head = self._head(rel)
            if head is not None and (head.get("Metadata") or {}).get(_CLAIM_TOKEN) == token:
                self._remember_etag(rel, head, len(data))
                return
            raise
        self._remember_etag(rel, response, len(data))

    def replace(self, rel: str, data: bytes) -> None:
        path = self._path(rel)
        response = self._run("writing", rel, lambda: self.fs.pipe_file(path, data))
        self._remember_etag(rel, response, len(data))

    def put_file(self, local_path: str, rel: str) -> None:
        if not os.path.isfile(local_path):
            raise FileNotFoundError(local_path)
        path = self._path(rel)
        # s3fs uploads large files in parts; the object appears only once all are in.
        self._run("copying to", rel, lambda: self.fs.put_file(local_path, path))

    def get(self, rel: str, local_path: str) -> None:
        if self._head(rel) is not None:
            self._get_file(rel, local_path)
            return
        found = False
        for sub, _ in self.walk_files(rel):
            found = True
            self._get_file(f"{rel}/{sub}" if rel else sub,
                           os.path.join(local_path, *sub.split("/")))
        if not found:
            raise FileNotFoundError(self.uri_of(rel))

    def get_file(self, rel: str, local_path: str) -> None:
        if self._head(rel) is None:
            if self.is_dir(rel):
                raise StoreError(f"reading {self.uri_of(rel)} failed: it is a folder, not a "
                                 "file")
            raise FileNotFoundError(self.uri_of(rel))
        self._get_file(rel, local_path)

    def _get_file(self, rel: str, local_path: str) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(local_path)), exist_ok=True)
        path = self._path(rel)
        # Streamed to disk (model files can be large); a retry writes the file anew.
        self._run("reading", rel, lambda: self.fs.get_file(path, local_path))

    def remove_tree(self, rel: str) -> None:
        # Keys are listed, never globbed: a name like "*" or "[x]" removes only itself.
        keys = [self._key(rel)] if rel else []
        start = self._dir_key(rel)
        keys += [start + name for name, _ in self.walk_files(rel)]
        for i in range(0, len(keys), _DELETE_BATCH):
            batch = [{"Key": k} for k in keys[i:i + _DELETE_BATCH]]
            response = self._run("removing", rel, lambda b=batch: self.fs.call_s3(
                "delete_objects", Bucket=self.bucket, Delete={"Objects": b, "Quiet": True}))
            errors = response.get("Errors") if isinstance(response, dict) else None
            if errors:
                first = errors[0]
                raise StoreError(f"removing {self.uri_of(rel)} failed for "
                                 f"{len(errors)} objects, e.g. {first.get('Key')!r}: "
                                 f"{first.get('Code')} {first.get('Message', '')}".rstrip())
        with self._etag_lock:
            for key in [k for k in self._put_etags if k == rel or k.startswith(f"{rel}/")]:
                del self._put_etags[key]


def _is_storage_error(exc: BaseException) -> bool:
    """Errors of the storage or the network (as opposed to bugs, which propagate)."""
    if isinstance(exc, OSError):
        return True
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:  # pragma: no cover - s3fs brings botocore
        return False
    if isinstance(exc, (BotoCoreError, ClientError)):
        return True
    try:
        import aiohttp
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, aiohttp.ClientError)


def _describe(exc: BaseException) -> str:
    code = error_code(exc)
    text = error_message(exc) or str(exc) or type(exc).__name__
    if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        text += (" (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or pass "
                 "storage_options={'anon': True} for a public bucket)")
    return f"{code}: {text}" if code and code not in text else text


def _addressable(name: str) -> bool:
    """Whether a listed key below a folder is a path the store can read: keys with ``.`` or
    ``..`` segments (another tool's, or a crafted one's) are refused by every read, so they
    are not listed either."""
    if not name:
        return False
    try:
        confined(name)
    except StoreError:
        return False
    return True
