"""What keeps the UI safe to open: response headers, the CSRF token of actions, who the user
is, and checks of the names a URL carries.

- Every response carries a Content-Security-Policy that runs only the UI's own script file
  (no inline script, nothing from elsewhere), forbids framing and sends forms only back here;
  artifacts are served with a policy that sandboxes them and ``nosniff``.
- An action is a POST carrying a token that must match the browser's CSRF cookie: the cookie
  is random per browser and the token is its HMAC under a secret drawn when the process
  starts, so a page elsewhere can neither read nor forge it (``SameSite=Strict`` too), and a
  restarted UI invalidates old forms.
- The user an action is recorded as is the operating-system user running the UI, unless the
  UI was told to trust a header a proxy in front of it sets (``X-Forwarded-User``); only do
  that behind a proxy that sets (and strips) that header itself.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets

from modelops.entities.validators import check_key, check_name
from modelops.errors import InvalidInput

CSRF_COOKIE = "modelops_ui_csrf"
CSRF_FIELD = "csrf_token"

PAGE_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
               "base-uri 'none'")
#: Stored bytes from a run: never a document that runs anything, even opened directly.
ARTIFACT_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

HEADERS = {
    "content-security-policy": PAGE_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


class Csrf:
    """Tokens of one UI process: ``token(cookie)`` for a form, ``valid(cookie, token)`` on
    POST."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    @staticmethod
    def new_cookie() -> str:
        return secrets.token_urlsafe(32)

    def token(self, cookie: str) -> str:
        return hmac.new(self._secret, cookie.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, token: str | None) -> bool:
        if not cookie or not token:
            return False
        return hmac.compare_digest(self.token(cookie), token)


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (a container without one)
        return "unknown"


def request_user(headers: dict[str, str] | object, trusted_header: str | None) -> str:
    """The user behind a request: the trusted proxy header when one is configured and set,
    else the operating-system user running the UI."""
    if trusted_header:
        value = headers.get(trusted_header.lower())  # type: ignore[attr-defined]
        if value and value.strip():
            return value.strip()
    return os_user()


def checked_name(value: str, field: str) -> str:
    """A name from a URL (experiment, run, model, report, version, alias): the rules of
    names in the API, so a URL can reach nothing a call could not."""
    return check_name(value, field)


def checked_path(value: str | None, field: str = "path") -> str | None:
    """An artifact path from a URL: each segment by the rules of keys (no empty, '.' or '..'
    segment, no backslash), so it stays inside the run's artifacts."""
    if value is None or value == "":
        return None
    if len(value) > 1000:
        raise InvalidInput("is longer than 1000 characters", field=field)
    for part in value.split("/"):
        check_key(part, field)
    return value
