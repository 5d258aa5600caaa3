"""From ``s3://bucket/prefix`` and ``storage_options`` to an S3Storage.

Configuration is the AWS way: credentials, region, profile and endpoint come from where
boto reads them (``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``,
``AWS_PROFILE``, ``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL``,
``~/.aws/config`` and ``~/.aws/credentials``, instance roles), and ``storage_options`` given to
``modelops.connect`` go to ``s3fs.S3FileSystem`` as they are — ``endpoint_url``, ``key``,
``secret``, ``token``, ``profile``, ``anon``, ``client_kwargs={"region_name": …}``,
``config_kwargs``, ``s3_additional_kwargs`` (server-side encryption) and the rest. One
option is modelops's own: ``retries``, the number of tries per request (default 6).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

from modelops.errors import InvalidInput, MissingDependency
from modelops_s3.retry import RetryPolicy
from modelops_s3.storage import S3Storage

#: URI schemes served: ``s3a`` is Hadoop's spelling of the same thing.
SCHEMES = ("s3", "s3a")

# S3's rules (3-63 characters of lower-case letters, digits, dots and hyphens, starting and
# ending with a letter or digit), loosened to the upper case and underscores that buckets made
# before 2018 in us-east-1, and some S3-compatible stores, allow.
_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def split_location(path: str) -> tuple[str, str]:
    """``bucket/some/prefix`` -> ``("bucket", "some/prefix")``; ``InvalidInput`` naming
    what is wrong for a missing or malformed bucket or prefix."""
    bucket, _, prefix = path.strip().partition("/")
    if not bucket:
        raise InvalidInput("expected s3://bucket or s3://bucket/prefix, with a bucket name",
                           field="uri")
    if not _BUCKET.match(bucket):
        raise InvalidInput(f"{bucket!r} is not a bucket name (3 to 255 letters, digits, dots, "
                           "hyphens or underscores, starting and ending with a letter or "
                           "digit)", field="uri")
    prefix = prefix.strip("/")
    if prefix:
        if _CONTROL.search(prefix):
            raise InvalidInput(f"the key prefix {prefix!r} contains control characters",
                               field="uri")
        for part in prefix.split("/"):
            if part in ("", ".", ".."):
                raise InvalidInput(f"the key prefix {prefix!r} has an empty, '.' or '..' "
                                   "segment", field="uri")
    return bucket, prefix


def make_filesystem(options: Mapping[str, Any], *, cache: bool = True) -> Any:
    """An ``s3fs.S3FileSystem`` for these options, with retries left to modelops.

    botocore and s3fs would otherwise retry on their own, out of sight. Listing caches are
    off, because other machines change the bucket. Filesystems are shared within a process
    by the stores opened with the same options under the same ``AWS_*`` environment (so one
    ``connect`` makes one S3 client, not four); s3fs's own cache of instances is off, since
    it would keep what the environment said at the first ``connect`` forever.
    """
    try:
        import s3fs
    except ImportError as exc:  # pragma: no cover - a dependency of this package
        raise MissingDependency("s3:// stores", "s3fs") from exc
    # Copies all the way down: s3fs may keep and change what it is given.
    kwargs = {k: dict(v) if isinstance(v, Mapping) else v for k, v in options.items()}
    config = dict(kwargs.pop("config_kwargs", None) or {})
    config.setdefault("retries", {"total_max_attempts": 1})
    kwargs["config_kwargs"] = config
    kwargs.setdefault("use_listings_cache", False)
    kwargs["skip_instance_cache"] = True
    key = _cache_key(kwargs) if cache else None
    if key is not None:
        with _cache_lock:
            fs = _cache.get(key)
        if fs is not None:
            return fs
    try:
        fs = s3fs.S3FileSystem(**kwargs)
    except TypeError as exc:
        raise InvalidInput(f"not accepted by s3fs.S3FileSystem: {exc}",
                           field="storage_options") from None
    fs.retries = 1
    if key is not None:
        with _cache_lock:
            fs = _cache.setdefault(key, fs)
            while len(_cache) > _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
    return fs


_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()
_CACHE_SIZE = 16


def _cache_key(kwargs: Mapping[str, Any]) -> str | None:
    """What makes two filesystems interchangeable: the options, the AWS environment and the
    process (an S3 client does not survive a fork). None when the options cannot be told
    apart reliably."""
    environment = sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_"))
    try:
        text = repr((sorted(kwargs.items()), environment, os.getpid()))
    except TypeError:
        return None
    if " at 0x" in text:  # an object without a value-based repr (a connection object, a callback)
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def open_storage(scheme: str, path: str, options: Mapping[str, Any] | None = None,
                 fs: Any = None) -> S3Storage:
    """The S3Storage for ``scheme://path`` with ``storage_options``; ``fs`` replaces the
    filesystem these options would make (for tests that wrap it)."""
    bucket, prefix = split_location(path)
    kwargs = dict(options or {})
    retry = RetryPolicy()
    if "retries" in kwargs:
        attempts = kwargs.pop("retries")
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise InvalidInput(f"expected a positive number of tries, got {attempts!r}",
                               field="storage_options['retries']")
        retry = RetryPolicy(attempts=attempts)
    return S3Storage(fs if fs is not None else make_filesystem(kwargs), bucket, prefix,
                     scheme=scheme, retry=retry)
