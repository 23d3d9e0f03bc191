from __future__ import annotations

from .sections import SECTIONS


def dashboard(request) -> dict:
    """Navigation and the business switcher, only on dashboard pages (where the middleware set a business)."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {}
    from businesses.services import memberships_of

    return {
        "business": request.business,
        "membership": membership,
        "nav_sections": [s for s in SECTIONS if membership.is_owner or not s.owner_only],
        "user_memberships": lambda: memberships_of(request.user),
    }
