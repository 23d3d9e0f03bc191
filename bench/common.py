"""What every benchmark script needs: a clean database of its own on the server DATABASE_URL names."""

from __future__ import annotations

import sys
from urllib.parse import urlparse, urlunparse


def fail(message: str) -> None:
    print(message, file=sys.stderr)
    sys.exit(2)


def prepare_database(url: str, name: str) -> str:
    """Drop and recreate database `name` on the server of `url` (never `url`'s own database); returns its URL."""
    import psycopg

    parsed = urlparse(url)
    maintenance = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return urlunparse(parsed._replace(path=f"/{name}"))
