"""Which S3 failures are worth another try, and how long to wait between tries.

S3 and the network fail in passing: a throttled request (``SlowDown``, HTTP 503), a server
error (HTTP 500), a connection refused, reset or dropped mid-response, a read timeout. Each is
retried with exponential backoff and full jitter (AWS's advice for many clients hitting one
prefix); anything else — access denied, a missing bucket, bad credentials — is not, because
trying again cannot help.
"""

from __future__ import annotations

import asyncio
import http.client
import random
import socket
from collections.abc import Iterator

import attrs

#: Error codes S3 (and S3-compatible stores) answer when a request may simply be retried.
TRANSIENT_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException",
    "RequestThrottled", "RequestThrottledException", "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "BandwidthLimitExceeded", "RequestTimeout", "RequestTimeoutException",
    "InternalError", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException",
    "PriorRequestNotComplete", "TransactionInProgressException",
    # Real S3 answers 409 to a conditional write that raced another one: try again.
    "ConditionalRequestConflict", "OperationAborted",
    "500", "502", "503", "504",
})


@attrs.frozen
class RetryPolicy:
    """How often and how patiently a storage operation is tried.

    ``attempts`` tries in all; before try ``n + 1`` the wait is a random time up to
    ``min(max_delay, base_delay * 2 ** (n - 1))`` seconds. The defaults ride out about three
    seconds of trouble before an operation gives up with a ``StoreError``; the prediction
    logger retries on top of that, so a longer outage only delays its writes.
    """

    attempts: int = attrs.field(default=6, validator=attrs.validators.ge(1))
    base_delay: float = attrs.field(default=0.1, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=2.0, validator=attrs.validators.ge(0))

    def delays(self) -> Iterator[float]:
        """The waits before the 2nd, 3rd, … tries."""
        for n in range(self.attempts - 1):
            yield random.uniform(0, min(self.max_delay, self.base_delay * 2 ** n))


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes (s3fs wraps botocore's errors in OSError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 8:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def error_code(exc: BaseException) -> str | None:
    """The S3 error code behind ``exc`` (``"SlowDown"``, ``"NoSuchBucket"`` …), or the HTTP
    status as a string when the response had no code; None for non-HTTP errors."""
    for e in _causes(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict) and "Error" in response:
            code = response["Error"].get("Code")
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return str(code or status) if (code or status) else None
    return None


def error_message(exc: BaseException) -> str | None:
    """The message of the S3 error response behind ``exc``, if there was one."""
    for e in _causes(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict) and "Error" in response:
            message = response["Error"].get("Message")
            return str(message) if message else None
    return None


def http_status(exc: BaseException) -> int | None:
    for e in _causes(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict) and "ResponseMetadata" in response:
            status = response["ResponseMetadata"].get("HTTPStatusCode")
            return int(status) if status else None
    return None


def _network_error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [
        ConnectionError, TimeoutError, socket.timeout, asyncio.TimeoutError,
        http.client.IncompleteRead, http.client.RemoteDisconnected,
    ]
    try:
        from botocore import exceptions as bx

        types += [bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ReadTimeoutError,
                  bx.ConnectTimeoutError, bx.HTTPClientError, bx.IncompleteReadError,
                  bx.ResponseStreamingError, bx.ProxyConnectionError]
    except ImportError:  # pragma: no cover - s3fs brings botocore
        pass
    try:
        import aiohttp

        types += [aiohttp.ClientConnectionError, aiohttp.ClientPayloadError,
                  aiohttp.ServerTimeoutError]
    except ImportError:  # pragma: no cover - s3fs brings aiohttp
        pass
    try:
        from fsspec.exceptions import FSTimeoutError

        types.append(FSTimeoutError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(types)


_NETWORK_ERRORS: tuple[type[BaseException], ...] | None = None


def is_transient(exc: BaseException) -> bool:
    """Whether another try of the failed request may succeed."""
    global _NETWORK_ERRORS
    if _NETWORK_ERRORS is None:
        _NETWORK_ERRORS = _network_error_types()
    if isinstance(exc, (FileNotFoundError, FileExistsError, PermissionError)):
        return False
    code = error_code(exc)
    if code is not None:
        status = http_status(exc)
        return code in TRANSIENT_CODES or status == 429 or (status or 0) >= 500
    return any(isinstance(e, _NETWORK_ERRORS) for e in _causes(exc))
