"""Trigram index for the clients list's free-text search (PostgreSQL only; nothing happens on SQLite).

The search filters `business_id = X AND (UPPER(first_name::text) LIKE '%Q%' OR UPPER(last_name::text) LIKE ...
OR UPPER(email::text) LIKE ... OR phone::text LIKE '%digits%')` — Django's `icontains` compares UPPER() of the
column, so the index is built on those same expressions, or the planner could not use it. One multicolumn GIN
index with btree_gin's `business_id` first: every arm of the OR becomes a bitmap scan of this index restricted to
the business, and the arms are OR-ed in memory, so a search among a million clients reads only the matches.
Built CONCURRENTLY so adding it to a live table does not block writes.
"""

from django.db import migrations

INDEX = "client_search_trgm"
CREATE = f"""
CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON clients_client USING gin (
    business_id,
    (UPPER(first_name::text)) gin_trgm_ops,
    (UPPER(last_name::text)) gin_trgm_ops,
    (UPPER(email::text)) gin_trgm_ops,
    phone gin_trgm_ops
)
"""


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        # A concurrent build interrupted earlier leaves an invalid index that IF NOT EXISTS would keep.
        cursor.execute(
            "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s AND NOT i.indisvalid",
            [INDEX],
        )
        if cursor.fetchone():
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
        cursor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("clients", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
