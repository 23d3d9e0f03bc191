from django.apps import AppConfig


class WidgetsConfig(AppConfig):
    name = "widgets"

    def ready(self) -> None:
        from businesses.events import subscribe
        from clients.models import ClientLoginToken
        from clients.privacy import register_erasure_delete
        from clients.services import register_merge_handler
        from referrals.models import FriendInvitation

        from .invitations import merge_invitations
        from .magic_links import merge_login_tokens
        from .online_booking import on_booking_confirmed

        # An erased client's sign-in links and the invitations they sent (their friends' names and addresses) go.
        register_erasure_delete(ClientLoginToken)
        register_erasure_delete(FriendInvitation)
        register_merge_handler(ClientLoginToken, merge_login_tokens)
        register_merge_handler(FriendInvitation, merge_invitations)
        subscribe("booking.confirmed", on_booking_confirmed)
