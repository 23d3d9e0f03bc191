"""Covering partial index for the referrals leaderboard's revenue (referrals.selectors._revenue).

The revenue sums, per confirmed referee, `total` of the bookings with status confirmed or completed starting in
the period: (business, client, starts_at) INCLUDE (total) WHERE status IN (...) answers each probe from the index
alone, where booking_business_client had to read a heap page per booking for its status and total.

On PostgreSQL it is built CONCURRENTLY so adding it to the live bookings table does not block writes; elsewhere
(SQLite) it is a plain CREATE INDEX without the INCLUDE, which Django leaves out where unsupported.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """AddIndexConcurrently on PostgreSQL, AddIndex on any other database."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)
        with schema_editor.connection.cursor() as cursor:
            # An interrupted concurrent build leaves an invalid index of that name: drop it, then build again.
            cursor.execute(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s "
                "AND NOT i.indisvalid",
                [self.index.name],
            )
            if cursor.fetchone():
                cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {self.index.name}")
        return super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
        return super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("bookings", "0006_payment_external_ref"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="booking",
            index=models.Index(
                condition=models.Q(("status__in", ["confirmed", "completed"])),
                fields=["business", "client", "starts_at"],
                include=("total",),
                name="booking_revenue",
            ),
        ),
    ]
