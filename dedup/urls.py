"""URL normalization for URL dedup: one key per page, whatever the fetch looked like."""

from __future__ import annotations

import fnmatch
from urllib.parse import parse_qsl, urlencode, urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str | None, strip_www: bool = True, drop_params: tuple[str, ...] = ()) -> str | None:
    """The dedup key of a URL, or None when there is none (no URL, or not parseable).

    - scheme http/https is not part of the key (the same page is often fetched both ways);
      other schemes are kept as a prefix;
    - host lowercased, trailing dot, default port and user info removed, ``www.`` removed
      when ``strip_www``;
    - fragment removed; empty path is ``/``; a trailing ``/`` is removed from other paths;
    - query parameters whose name matches a glob in ``drop_params`` (``utm_*``) are removed,
      the others kept in order.
    """
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url or None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not host and not parts.path:
        return url or None
    if strip_www and host.startswith("www."):
        host = host[4:]
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    query = parts.query
    if query and drop_params:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not any(fnmatch.fnmatchcase(k.lower(), p) for p in drop_params)]
        if len(kept) != len(pairs):  # re-encode only when something was removed
            query = urlencode(kept)
    prefix = "" if scheme in ("http", "https", "") else f"{scheme}://"
    return f"{prefix}{host}{path}" + (f"?{query}" if query else "")
