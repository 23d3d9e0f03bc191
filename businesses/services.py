"""Use cases for businesses, memberships and invitations. Each runs in one transaction."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from .models import (
    INVITATION_VALID_FOR,
    AuditLog,
    Business,
    Invitation,
    Membership,
    Role,
    hash_token,
    new_token,
)

User = get_user_model()


def audit_record(*, business: Business, actor, action: str, subject=None, **payload) -> AuditLog:
    return AuditLog.objects.create(
        business=business,
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        subject_type=subject._meta.label if subject is not None else "",
        subject_id=subject.pk if subject is not None else None,
        payload=payload,
    )


@transaction.atomic
def business_create(*, owner, name: str, slug: str, time_zone: str, currency: str, country: str) -> Business:
    """Create a business with `owner` as its owner. The unique slug makes a concurrent twin fail cleanly."""
    try:
        with transaction.atomic():
            business = Business.objects.create(
                name=name, slug=slug, time_zone=time_zone, currency=currency, country=country
            )
    except IntegrityError as exc:
        raise ValidationError({"slug": "This address is already taken. Please choose another."}) from exc
    with scope(business=business):
        Membership.objects.create(business=business, user=owner, role=Role.OWNER)
        audit_record(business=business, actor=owner, action="business.created", subject=business)
    return business


@transaction.atomic
def business_update(*, business: Business, actor, **fields) -> Business:
    """Change the business's details. Compares against the locked row, not the caller's (maybe edited) copy."""
    stored = Business.objects.select_for_update().get(pk=business.pk)
    changed = {name: value for name, value in fields.items() if getattr(stored, name) != value}
    for name, value in fields.items():
        setattr(business, name, value)
    if changed:
        business.save(update_fields=list(changed))
        audit_record(
            business=business,
            actor=actor,
            action="business.updated",
            subject=business,
            fields=sorted(changed),
        )
    return business


def memberships_of(user) -> list[Membership]:
    """Every business the user belongs to, for the business switcher. Crosses tenants on purpose."""
    with scopes_disabled():
        return list(Membership.objects.filter(user=user).select_related("business").order_by("business__name"))


@transaction.atomic
def invitation_create(*, business: Business, email: str, role: str, invited_by) -> tuple[Invitation, str]:
    """Invite `email` (or refresh its open invitation). Returns the invitation and its one-time token.

    The e-mail is sent by a task after commit; the token is only ever stored hashed.
    """
    from .tasks import invitation_send

    email = User.objects.normalize_email(email.strip())
    if Membership.objects.filter(business=business, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {business.name}."})
    token = new_token()
    invitation = (
        Invitation.objects.select_for_update()
        .filter(business=business, email__iexact=email, accepted_at__isnull=True)
        .first()
    )
    if invitation is None:
        invitation = Invitation(business=business, email=email)
    invitation.role = role
    invitation.invited_by = invited_by
    invitation.token_hash = hash_token(token)
    invitation.created_at = timezone.now()
    invitation.expires_at = invitation.created_at + INVITATION_VALID_FOR
    invitation.save()
    audit_record(business=business, actor=invited_by, action="invitation.sent", subject=invitation, email=email)
    invitation_send.delay_on_commit(business.id, invitation.id, token)
    return invitation, token


@transaction.atomic
def invitation_revoke(*, business: Business, invitation: Invitation, actor) -> None:
    audit_record(business=business, actor=actor, action="invitation.revoked", email=invitation.email)
    invitation.delete()


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation for a token from an e-mailed link; the token names its business, so this crosses tenants."""
    with scopes_disabled():
        return Invitation.objects.select_related("business", "invited_by").filter(token_hash=hash_token(token)).first()


def invitation_problem(invitation: Invitation | None) -> str | None:
    """Why this invitation cannot be accepted, in words for the person holding the link; None if it can."""
    if invitation is None:
        return "This invitation link is not valid. It may have been revoked; ask the owner to invite you again."
    if invitation.is_accepted:
        return "This invitation has already been used. Log in to reach the business."
    if invitation.is_expired:
        return "This invitation has expired. Ask the owner of the business to send you a new one."
    return None


@transaction.atomic
def invitation_accept(*, token: str, user) -> Membership:
    """Make `user` a member. Locks the invitation, so a double click or two tabs create one membership."""
    invitation = invitation_by_token(token)
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    with scope(business=invitation.business):
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        problem = invitation_problem(invitation)
        if problem:
            raise ValidationError(problem)
        if invitation.email.lower() != user.email.lower():
            raise ValidationError(
                f"This invitation is for {invitation.email}, but you are signed in as {user.email}. "
                "Log out and open the link again."
            )
        membership, _ = Membership.objects.get_or_create(
            business=invitation.business, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        audit_record(
            business=invitation.business,
            actor=user,
            action="invitation.accepted",
            subject=membership,
            role=membership.role,
        )
    return membership


@transaction.atomic
def invitation_accept_as_new_user(
    *, token: str, password: str, first_name: str = "", last_name: str = ""
) -> Membership:
    """Create the invitee's account and accept. The link came by e-mail, so the address counts as verified."""
    from allauth.account.models import EmailAddress

    invitation = invitation_by_token(token)
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(f"An account for {invitation.email} exists already. Log in to accept the invitation.")
    user = User.objects.create_user(
        email=invitation.email, password=password, first_name=first_name, last_name=last_name
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return invitation_accept(token=token, user=user)


def _lock_memberships(business: Business) -> list[Membership]:
    """Lock the business's memberships so two owners cannot both demote each other at once."""
    return list(Membership.objects.select_for_update().filter(business=business).order_by("pk"))


def _ensure_an_owner_remains(memberships: list[Membership], leaving: Membership) -> None:
    owners = [m for m in memberships if m.role == Role.OWNER and m.pk != leaving.pk]
    if not owners:
        raise ValidationError("A business needs at least one owner. Make someone else an owner first.")


@transaction.atomic
def membership_change_role(*, business: Business, membership: Membership, role: str, actor) -> Membership:
    memberships = _lock_memberships(business)
    current = next(m for m in memberships if m.pk == membership.pk)
    if current.role == role:
        return current
    if role != Role.OWNER:
        _ensure_an_owner_remains(memberships, current)
    current.role = role
    current.save(update_fields=["role"])
    audit_record(business=business, actor=actor, action="membership.role_changed", subject=current, role=role)
    return current


@transaction.atomic
def membership_remove(*, business: Business, membership: Membership, actor) -> None:
    memberships = _lock_memberships(business)
    current = next(m for m in memberships if m.pk == membership.pk)
    _ensure_an_owner_remains(memberships, current)
    audit_record(business=business, actor=actor, action="membership.removed", email=current.user.email)
    current.delete()
