from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from businesses.models import BusinessAPIKey


class HasBusinessAPIKey(BasePermission):
    """Any valid key reads; only a read-write key writes (a read-only key gets 403)."""

    message = "This API key is read-only; create a read-write key to make changes."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, BusinessAPIKey):
            return False  # DRF answers 401, since an authenticator exists and none succeeded
        return request.method in SAFE_METHODS or key.can_write
