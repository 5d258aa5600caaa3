"""How an artifact is shown: by its name's extension, never by sniffing its bytes.

Only raster images are ever served with their own type (for an ``<img>``); HTML, SVG (it can
carry scripts), XML and everything else are shown as escaped text or offered as opaque bytes
to download.
"""

from __future__ import annotations

_IMAGES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
           "webp": "image/webp"}
_TEXT = {"txt", "log", "md", "rst", "yaml", "yml", "toml", "ini", "cfg", "py", "sql", "sh",
         "r", "html", "htm", "svg", "xml", "mlmodel", "requirements", "lock", "env"}
_NAMES = {"MLmodel", "requirements.txt", "conda.yaml", "python_env.yaml", "Dockerfile",
          "LICENSE", "README"}


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def preview_kind(path: str) -> str:
    """``image``, ``json``, ``csv``, ``text`` or ``binary`` (download only)."""
    ext = _extension(path)
    if ext in _IMAGES:
        return "image"
    if ext == "json":
        return "json"
    if ext in ("csv", "tsv"):
        return "csv"
    if ext in _TEXT or path.rsplit("/", 1)[-1] in _NAMES:
        return "text"
    return "binary"


def raw_media_type(path: str) -> str:
    """The Content-Type an artifact's bytes are served with: a raster image's own type,
    else ``application/octet-stream``."""
    return _IMAGES.get(_extension(path), "application/octet-stream")
