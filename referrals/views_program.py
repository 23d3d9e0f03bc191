"""The referral program's settings and ordered rules: owner only. Thin views around referrals.program."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from businesses.forms import add_errors
from businesses.models import Service
from clients.models import Client
from referrals_saas.tenancy import business_view

from . import program as program_services
from .forms_program import ProgramForm, RuleForm
from .models import ReferralProgram, ReferralRule
from .rules import Recipients

SECTION = "referrals"


def _program_url(business, anchor: str = "") -> str:
    url = reverse("referrals:program", kwargs={"business_slug": business.slug})
    return f"{url}#{anchor}" if anchor else url


def _rules(business, program: ReferralProgram) -> list[ReferralRule]:
    """The rules in order, each with its display text and the services an earlier rule already covers."""
    rules = list(
        ReferralRule.objects.filter(business=business, program=program)
        .select_related("reward_service")
        .order_by("position", "id")
        .prefetch_related(Prefetch("services", queryset=Service.objects.filter(business=business).order_by("name")))
    )
    covered: set[int] = set()
    for number, rule in enumerate(rules, start=1):
        services = list(rule.services.all())
        rule.number = number
        rule.services_text = program_services.service_names(rule)
        rule.referee_text = program_services.referee_benefit(rule, business.currency)
        rule.referrer_text = program_services.referrer_benefit(rule, business.currency)
        rule.shadowed = [s.name for s in services if s.pk in covered]
        rule.archived = [s.name for s in services if not s.is_active]
        rule.bookable = any(s.is_active for s in services)
        covered.update(s.pk for s in services)
    return rules


def _rules_context(business, program: ReferralProgram, *, moved_id: int | None = None, direction: str = "", **extra):
    rules = _rules(business, program)
    for rule in rules:
        # Keep the keyboard on the moved rule: its button in the same direction, or the other one at either end.
        rule.focus = ""
        if rule.pk == moved_id and direction in ("up", "down") and len(rules) > 1:
            at_end = rule.number == (1 if direction == "up" else len(rules))
            rule.focus = {"up": "down", "down": "up"}[direction] if at_end else direction
    return {
        "program": program,
        "rules": rules,
        "ignores_referrer": program.recipients == Recipients.NEW_CLIENT_ONLY,
        "ignores_referee": program.recipients == Recipients.REFERRER_ONLY,
        **extra,
    }


def _page(request, program: ReferralProgram, form: ProgramForm, status: int = 200, **extra):
    context = {
        "form": form,
        "active_section": SECTION,
        **_rules_context(request.business, program),
        "test_clients": Client.objects.filter(business=request.business, is_test=True).count(),
        **extra,
    }
    return render(request, "referrals/program.html", context, status=status)


@business_view(owner_only=True)
def program_settings(request):
    """The program page: the on/off switch, the settings form (saved here) and the ordered rules."""
    business = request.business
    program = program_services.program_get(business=business)
    form = ProgramForm(request.POST or None, program=program)
    if request.method == "POST":
        if form.is_valid():
            try:
                program_services.program_update(business=business, data=form.program_data(), actor=request.user)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, "The program settings were saved.")
                return redirect(_program_url(business))
        return _page(request, program, form, status=400)
    return _page(request, program, form)


@require_POST
@business_view(owner_only=True)
def program_enabled(request):
    """Switch the program on or off. The form says which, so a double submit cannot undo itself."""
    business = request.business
    wanted = request.POST.get("enabled")
    error, status = None, 200
    if wanted not in ("0", "1"):
        error, status = "Choose whether to switch the program on or off.", 400
    else:
        try:
            program_services.program_set_enabled(business=business, enabled=wanted == "1", actor=request.user)
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 409
    program = program_services.program_get(business=business)
    done = None
    if not error:
        done = "The program is running." if program.enabled else "The program is switched off; its rules are kept."
    if request.htmx:
        context = {"program": program, "switch_error": error, "switch_done": done}
        return render(request, "referrals/program.html#switch", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(_program_url(business))


def _rule_or_404(request, rule_id: int) -> ReferralRule:
    return get_object_or_404(ReferralRule, business=request.business, pk=rule_id)


def _rule_form_page(request, form: RuleForm, rule: ReferralRule | None, status: int = 200):
    program = program_services.program_get(business=request.business)
    archived = []
    if rule is not None:
        archived = [s.name for s in rule.services.filter(business=request.business, is_active=False).order_by("name")]
    context = {
        "form": form,
        "rule": rule,
        "program": program,
        "archived_services": archived,
        "has_services": form.fields["services"].queryset.exists(),
        "ignores_referrer": program.recipients == Recipients.NEW_CLIENT_ONLY,
        "ignores_referee": program.recipients == Recipients.REFERRER_ONLY,
        "currency": request.business.currency,
        "active_section": SECTION,
    }
    return render(request, "referrals/program_rule_form.html", context, status=status)


@business_view(owner_only=True)
def rule_new(request):
    business = request.business
    form = RuleForm(request.POST or None, business=business)
    if request.method == "POST":
        if form.is_valid():
            try:
                rule = program_services.rule_create(business=business, data=form.rule_data(), actor=request.user)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, f"Rule {rule.position + 1} was added.")
                return redirect(_program_url(business, "program-rules"))
        return _rule_form_page(request, form, None, status=400)
    return _rule_form_page(request, form, None)


@business_view(owner_only=True)
def rule_edit(request, rule_id: int):
    business = request.business
    rule = _rule_or_404(request, rule_id)
    form = RuleForm(request.POST or None, business=business, rule=rule)
    if request.method == "POST":
        if form.is_valid():
            try:
                rule = program_services.rule_update(
                    business=business, rule=rule, data=form.rule_data(), actor=request.user
                )
            except ValidationError as error:
                add_errors(form, error)
            except ReferralRule.DoesNotExist as exc:
                raise Http404("This rule was deleted meanwhile.") from exc
            else:
                messages.success(request, f"Rule {rule.position + 1} was saved. Referrals made before keep theirs.")
                return redirect(_program_url(business, "program-rules"))
        return _rule_form_page(request, form, rule, status=400)
    return _rule_form_page(request, form, rule)


@require_POST
@business_view(owner_only=True)
def rule_move(request, rule_id: int):
    """Move a rule up or down; htmx gets the rules list back, a plain form the page."""
    business = request.business
    rule = _rule_or_404(request, rule_id)
    direction = request.POST.get("direction")
    error, status = None, 200
    try:
        program_services.rule_move(business=business, rule=rule, direction=direction, actor=request.user)
    except ValidationError as exc:
        error, status = " ".join(exc.messages), 400
    except ReferralRule.DoesNotExist as exc:
        raise Http404("This rule was deleted meanwhile.") from exc
    if request.htmx:
        program = program_services.program_get(business=business)
        context = _rules_context(business, program, moved_id=rule.pk, direction=direction, rules_error=error)
        return render(request, "referrals/program.html#rules", context, status=status)
    if error:
        messages.error(request, error)
    return redirect(_program_url(business, "program-rules"))


@business_view(owner_only=True)
def rule_delete(request, rule_id: int):
    """Ask first (GET), delete on POST. Deleting the last rule of a running program switches it off."""
    business = request.business
    rule = _rule_or_404(request, rule_id)
    if request.method == "POST":
        try:
            result = program_services.rule_delete(business=business, rule=rule, actor=request.user)
        except ReferralRule.DoesNotExist as exc:
            raise Http404("This rule was deleted already.") from exc
        messages.success(request, "The rule was deleted. Referrals made with it keep their discount and reward.")
        if result.program_switched_off:
            messages.warning(
                request, "That was the last rule, so the program was switched off. Add a rule to switch it on again."
            )
        return redirect(_program_url(business, "program-rules"))
    program = program_services.program_get(business=business)
    is_last = not ReferralRule.objects.filter(business=business, program=program).exclude(pk=rule.pk).exists()
    context = {
        "rule": rule,
        "summary": program_services.rule_summary(rule, business.currency),
        "switches_off": is_last and program.enabled,
        "active_section": SECTION,
    }
    return render(request, "referrals/program_rule_delete.html", context)
