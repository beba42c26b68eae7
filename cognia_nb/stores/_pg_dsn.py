"""PostgreSQL connection strings: recognising them, and masking their password.

Credentials come only from the DSN itself or libpq's own sources (``PGPASSWORD``,
``~/.pgpass``, ...); cognia_nb never logs them: every message and repr shows :func:`mask`.
"""

from __future__ import annotations

import re

__all__ = ["SCHEMES", "is_postgres_dsn", "mask"]

SCHEMES = ("postgresql://", "postgres://")

# URL form: scheme://user:PASSWORD@host  (the password ends at the last '@' before the host)
_URL_PASSWORD = re.compile(r"^(postgres(?:ql)?://[^:/@]*:)(.*)(@)", re.IGNORECASE)
# key=value form: password=secret or password='se cret' (with \' escapes)
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
# URL query form: ?password=secret&...
_QUERY_PASSWORD = re.compile(r"([?&]password=)([^&]*)", re.IGNORECASE)


def is_postgres_dsn(value: object) -> bool:
    """Whether ``value`` is a ``postgresql://`` (or ``postgres://``) URL."""
    return isinstance(value, str) and value.lower().startswith(SCHEMES)


def mask(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***`` (URL, query and key=value forms)."""
    if is_postgres_dsn(dsn):
        return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***\3", dsn))
    return _KV_PASSWORD.sub(r"\1***", dsn)
