from __future__ import annotations

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Newest first by id (unique, so a cursor never skips or repeats a row when rows are added meanwhile)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_description = "The `next` or `previous` link of the previous page carries it."

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except exceptions.NotFound:
            # An altered cursor is bad input (400 with the field), not a missing page.
            raise exceptions.ValidationError({self.cursor_query_param: ["This cursor is not valid."]}) from None
