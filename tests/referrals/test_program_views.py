"""The program settings pages: the owner does each thing through the forms and the htmx endpoints; staff get 403;
another business's rule answers 404; bad input answers the form with its errors and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_scopes import scope, scopes_disabled

from businesses.models import AuditLog, Service
from referrals.models import ReferralProgram, ReferralRule
from referrals.program import RuleData, program_get, program_set_enabled, rule_create

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(business, path: str = "") -> str:
    return f"/b/{business.slug}/referrals/program/{path}"


def make_service(business, name="Deep tissue", price=80_00, **fields) -> Service:
    with scope(business=business):
        return Service.objects.create(business=business, name=name, price=price, **fields)


def make_rule(business, *services, **overrides) -> ReferralRule:
    values = {
        "service_ids": tuple(s.pk for s in services),
        "referee_value": Decimal("15"),
        "reward_kind": "coupon_fixed",
        "reward_value": Decimal("20"),
    }
    values.update(overrides)
    with scope(business=business):
        return rule_create(business=business, data=RuleData(**values))


def settings_form(**overrides) -> dict:
    data = {
        "recipients": "both",
        "reward_valid_days": "90",
        "max_rewards_per_referrer": "0",
        "attribution_window_days": "30",
        "combination_mode": "stack",
        "reward_moment": "confirmed",
        "booking_url": "",
        "flag_auto_approve_days": "",
        "burst_limit": "5",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def rule_form(*services, **overrides) -> dict:
    data = {
        "services": [str(s.pk) for s in services],
        "referee_kind": "percent",
        "referee_value": "15",
        "reward_kind": "coupon_fixed",
        "reward_value": "20",
        "name": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def program_of(business) -> ReferralProgram:
    with scope(business=business):
        return program_get(business=business)


def rules_of(business) -> list[ReferralRule]:
    with scope(business=business):
        return list(ReferralRule.objects.filter(business=business).order_by("position").prefetch_related("services"))


@pytest.fixture
def deep(business):
    return make_service(business, "Deep tissue")


@pytest.fixture
def swedish(business):
    return make_service(business, "Swedish")


# --- The settings page ---------------------------------------------------------------------------------------------


def test_owner_sees_the_program_page_with_its_rules(owner_client, business, deep, swedish):
    make_rule(business, deep, swedish)
    response = owner_client.get(url(business))
    assert response.status_code == 200
    body = response.content.decode()
    assert "switched off" in body
    assert "Deep tissue, Swedish" in body
    assert "New client 15% off" in body and "Referrer gets a £20 coupon" in body
    assert f'/b/{business.slug}/referrals/"' in body  # back to the referrals section
    assert 'id="reward-validity"' in body


def test_the_page_lists_rules_with_a_fixed_number_of_queries(owner_client, business, django_assert_max_num_queries):
    services = [make_service(business, f"Service {i}") for i in range(6)]
    for i in range(6):
        make_rule(business, services[i], services[(i + 1) % 6])
    owner_client.get(url(business))
    with django_assert_max_num_queries(15):
        assert owner_client.get(url(business)).status_code == 200


def test_owner_saves_the_settings(owner_client, business, owner):
    response = owner_client.post(
        url(business),
        settings_form(
            recipients="referrer",
            reward_valid_days="60",
            max_rewards_per_referrer="3",
            attribution_window_days="14",
            combination_mode="best",
            reward_moment="paid",
            booking_url="https://example.com/book",
            flag_auto_approve_days="10",
            burst_limit="8",
        ),
    )
    assert response.status_code == 302
    program = program_of(business)
    assert (program.recipients, program.reward_valid_days, program.max_rewards_per_referrer) == ("referrer", 60, 3)
    assert (program.attribution_window_days, program.combination_mode, program.reward_moment) == (14, "best", "paid")
    assert (program.booking_url, program.flag_auto_approve_days, program.burst_limit) == (
        "https://example.com/book",
        10,
        8,
    )


def test_the_validity_is_hidden_and_ignored_when_only_the_new_client_is_rewarded(owner_client, business):
    response = owner_client.post(url(business), settings_form(recipients="new_client", reward_valid_days="banana"))
    assert response.status_code == 302
    program = program_of(business)
    assert (program.recipients, program.reward_valid_days) == ("new_client", 90)
    body = owner_client.get(url(business)).content.decode()
    assert 'id="reward-validity" hidden' in body
    assert "referrer rewards below are kept but not given" not in body  # no rules yet


def test_the_validity_is_required_when_the_referrer_is_rewarded(owner_client, business):
    response = owner_client.post(url(business), settings_form(reward_valid_days=""))
    assert response.status_code == 400
    assert "How many days may the referrer use their reward?" in response.content.decode()


@pytest.mark.parametrize(
    "field,value",
    [
        ("reward_valid_days", "0"),
        ("reward_valid_days", "99999999999999999999999"),
        ("reward_valid_days", "-5"),
        ("reward_valid_days", "ninety"),
        ("max_rewards_per_referrer", "-1"),
        ("attribution_window_days", "1e9"),
        ("attribution_window_days", ""),
        ("combination_mode", "whatever"),
        ("recipients", ""),
        ("reward_moment", "someday"),
        ("booking_url", "javascript:alert(1)"),
        ("booking_url", "example"),
        ("flag_auto_approve_days", "0"),
        ("burst_limit", "100000"),
        ("burst_limit", "\x00"),
    ],
)
def test_bad_settings_answer_the_form_with_the_error_and_change_nothing(owner_client, business, field, value):
    program_of(business)
    response = owner_client.post(url(business), settings_form(**{field: value}))
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    assert response.context["form"].errors.keys() == {field}
    with scopes_disabled():
        assert not AuditLog.objects.filter(business=business, action="referral_program.updated").exists()
        assert ReferralProgram.objects.get(business=business).attribution_window_days == 30


# --- The switch ----------------------------------------------------------------------------------------------------


def test_switching_on_without_a_rule_answers_a_clear_error_to_htmx(owner_client, business):
    response = owner_client.post(url(business, "enabled/"), {"enabled": "1"}, **HTMX)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Add at least one rule" in body
    assert 'id="program-switch"' in body and "<html" not in body
    assert program_of(business).enabled is False


def test_switching_on_without_a_rule_without_javascript_redirects_with_the_message(owner_client, business):
    response = owner_client.post(url(business, "enabled/"), {"enabled": "1"}, follow=True)
    assert "Add at least one rule" in response.content.decode()
    assert program_of(business).enabled is False


def test_owner_switches_the_program_on_and_off_with_htmx(owner_client, business, deep):
    make_rule(business, deep)
    response = owner_client.post(url(business, "enabled/"), {"enabled": "1"}, **HTMX)
    assert response.status_code == 200
    assert 'aria-checked="true"' in response.content.decode()
    assert program_of(business).enabled is True
    # A double submit of the same form does not switch it back off.
    owner_client.post(url(business, "enabled/"), {"enabled": "1"}, **HTMX)
    assert program_of(business).enabled is True
    response = owner_client.post(url(business, "enabled/"), {"enabled": "0"}, **HTMX)
    assert 'aria-checked="false"' in response.content.decode()
    assert program_of(business).enabled is False
    assert len(rules_of(business)) == 1


@pytest.mark.parametrize("value", [None, "", "yes", "2"])
def test_the_switch_refuses_an_unclear_request(owner_client, business, deep, value):
    make_rule(business, deep)
    data = {} if value is None else {"enabled": value}
    response = owner_client.post(url(business, "enabled/"), data, **HTMX)
    assert response.status_code == 400
    assert program_of(business).enabled is False


# --- Adding and editing rules --------------------------------------------------------------------------------------


def test_the_rule_form_offers_the_active_services_by_name(owner_client, business, deep, swedish):
    make_service(business, "Aromatherapy")
    make_service(business, "Retired treatment", is_active=False)
    body = owner_client.get(url(business, "rules/new/")).content.decode()
    assert body.index("Aromatherapy") < body.index("Deep tissue") < body.index("Swedish")
    assert "Retired treatment" not in body


def test_the_rule_form_says_when_there_are_no_services(owner_client, business):
    body = owner_client.get(url(business, "rules/new/")).content.decode()
    assert "You have no active services yet" in body


def test_owner_adds_a_rule(owner_client, business, owner, deep, swedish):
    response = owner_client.post(
        url(business, "rules/new/"),
        rule_form(deep, swedish, name="Massages", referee_kind="fixed", referee_value="12.50", reward_value="20"),
    )
    assert response.status_code == 302
    (rule,) = rules_of(business)
    assert (rule.name, rule.referee_kind, rule.referee_amount, rule.reward_amount) == ("Massages", "fixed", 1250, 2000)
    assert set(rule.services.all()) == {deep, swedish}
    with scopes_disabled():
        assert AuditLog.objects.get(business=business, action="referral_rule.created").actor == owner


def test_owner_adds_a_rule_with_a_speed_bonus(owner_client, business, deep):
    response = owner_client.post(
        url(business, "rules/new/"), rule_form(deep, speed_bonus="on", fast_days="14", slow_reward_value="10")
    )
    assert response.status_code == 302
    (rule,) = rules_of(business)
    assert (rule.fast_days, rule.slow_reward_amount) == (14, 10_00)


def test_speed_bonus_fields_are_ignored_when_the_box_is_not_ticked(owner_client, business, deep):
    response = owner_client.post(url(business, "rules/new/"), rule_form(deep, fast_days="abc", slow_reward_value="x"))
    assert response.status_code == 302
    (rule,) = rules_of(business)
    assert (rule.fast_days, rule.slow_reward_amount, rule.slow_reward_percent) == (None, None, None)


def test_a_ticked_speed_bonus_needs_its_days(owner_client, business, deep):
    response = owner_client.post(url(business, "rules/new/"), rule_form(deep, speed_bonus="on", slow_reward_value="5"))
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"fast_days"}


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"referee_value": "-5"}, "referee_value"),
        ({"referee_value": "0"}, "referee_value"),
        ({"referee_value": "150"}, "referee_value"),
        ({"referee_value": "fifteen"}, "referee_value"),
        ({"referee_value": ""}, "referee_value"),
        ({"referee_value": "NaN"}, "referee_value"),
        ({"referee_value": "Infinity"}, "referee_value"),
        ({"referee_value": "1e400"}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": "99999999999999999999"}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": "9999999999.99"}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": "12.345"}, "referee_value"),
        ({"referee_kind": "fixed", "referee_value": "-1"}, "referee_value"),
        ({"referee_kind": "bribe"}, "referee_kind"),
        ({"reward_value": "-20"}, "reward_value"),
        ({"reward_value": "1" * 40}, "reward_value"),
        ({"reward_kind": "coupon_percent", "reward_value": "100.5"}, "reward_value"),
        ({"reward_kind": "gift_card"}, "reward_kind"),
        ({"speed_bonus": "on", "fast_days": "9999999999999", "slow_reward_value": "5"}, "fast_days"),
        ({"speed_bonus": "on", "fast_days": "7", "slow_reward_value": "25"}, "slow_reward_value"),
        ({"name": "n" * 101}, "name"),
    ],
)
def test_bad_rule_values_answer_the_form_with_the_error_and_write_nothing(
    owner_client, business, deep, overrides, field
):
    response = owner_client.post(url(business, "rules/new/"), rule_form(deep, **overrides))
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {field}
    assert 'class="errorlist' in response.content.decode()
    assert rules_of(business) == []


@pytest.mark.parametrize("kind", ["none", "unknown", "archived", "other_business", "garbage", "huge", "negative"])
def test_the_services_picker_refuses_what_is_not_an_active_service_of_the_business(
    owner_client, business, other_business, deep, kind
):
    ids = {
        "none": [],
        "unknown": [str(deep.pk + 999)],
        "archived": [str(make_service(business, "Old", is_active=False).pk)],
        "other_business": [str(make_service(other_business, "Theirs").pk)],
        "garbage": ["abc"],
        "huge": ["9" * 30],
        "negative": ["-1"],
    }[kind]
    data = rule_form(deep)
    data["services"] = [str(deep.pk), *ids] if kind != "none" else []
    response = owner_client.post(url(business, "rules/new/"), data)
    assert response.status_code == 400
    assert response.context["form"].errors.keys() == {"services"}
    assert rules_of(business) == []


def test_a_rule_that_gives_nothing_is_refused_with_a_form_error(owner_client, business, deep):
    response = owner_client.post(url(business, "rules/new/"), rule_form(deep, referee_kind="none", reward_kind="none"))
    assert response.status_code == 400
    assert "This rule gives nothing" in response.content.decode()
    assert rules_of(business) == []


def test_owner_edits_a_rule(owner_client, business, deep, swedish):
    rule = make_rule(business, deep)
    form = owner_client.get(url(business, f"rules/{rule.pk}/"))
    assert form.status_code == 200
    assert form.context["form"].initial["referee_value"] == Decimal("15")
    assert form.context["form"].initial["reward_value"] == Decimal("20.00")
    response = owner_client.post(
        url(business, f"rules/{rule.pk}/"), rule_form(swedish, reward_kind="coupon_percent", reward_value="10")
    )
    assert response.status_code == 302
    (rule,) = rules_of(business)
    assert (rule.reward_kind, rule.reward_percent, rule.reward_amount) == ("coupon_percent", Decimal("10.00"), 0)
    assert list(rule.services.all()) == [swedish]


def test_editing_with_bad_input_changes_nothing(owner_client, business, deep, swedish):
    rule = make_rule(business, deep)
    response = owner_client.post(url(business, f"rules/{rule.pk}/"), rule_form(swedish, referee_value="-1"))
    assert response.status_code == 400
    (rule,) = rules_of(business)
    assert (rule.referee_percent, list(rule.services.all())) == (Decimal("15.00"), [deep])


def test_the_edit_form_mentions_archived_services_the_rule_covered(owner_client, business, deep, swedish):
    rule = make_rule(business, deep, swedish)
    with scope(business=business):
        Service.objects.filter(pk=swedish.pk).update(is_active=False)
    body = owner_client.get(url(business, f"rules/{rule.pk}/")).content.decode()
    assert "Archived services this rule covered: Swedish" in body


# --- Moving and deleting -------------------------------------------------------------------------------------------


def test_owner_moves_a_rule_with_htmx_and_gets_the_list_back(owner_client, business, deep, swedish):
    first = make_rule(business, deep, name="First")
    second = make_rule(business, swedish, name="Second")
    response = owner_client.post(url(business, f"rules/{second.pk}/move/"), {"direction": "up"}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="program-rules"' in body and "<html" not in body
    assert body.index("Second") < body.index("First")
    assert [r.pk for r in rules_of(business)] == [second.pk, first.pk]
    assert [r.position for r in rules_of(business)] == [0, 1]


def test_moving_without_javascript_redirects_to_the_list(owner_client, business, deep, swedish):
    first = make_rule(business, deep)
    second = make_rule(business, swedish)
    response = owner_client.post(url(business, f"rules/{first.pk}/move/"), {"direction": "down"})
    assert response.status_code == 302
    assert response["Location"].endswith("#program-rules")
    assert [r.pk for r in rules_of(business)] == [second.pk, first.pk]


@pytest.mark.parametrize("direction", [None, "", "left", "up; drop"])
def test_moving_in_an_unknown_direction_is_refused(owner_client, business, deep, direction):
    rule = make_rule(business, deep)
    data = {} if direction is None else {"direction": direction}
    response = owner_client.post(url(business, f"rules/{rule.pk}/move/"), data, **HTMX)
    assert response.status_code == 400
    assert "Move a rule up or down." in response.content.decode()


def test_delete_asks_first_then_deletes(owner_client, business, deep, swedish):
    first = make_rule(business, deep)
    make_rule(business, swedish)
    page = owner_client.get(url(business, f"rules/{first.pk}/delete/"))
    assert page.status_code == 200
    assert "Deep tissue: new client 15% off" in page.content.decode()
    assert "switches the program off" not in page.content.decode()
    assert len(rules_of(business)) == 2
    response = owner_client.post(url(business, f"rules/{first.pk}/delete/"))
    assert response.status_code == 302
    assert [r.position for r in rules_of(business)] == [0]


def test_deleting_the_last_rule_warns_then_switches_the_program_off(owner_client, business, deep):
    rule = make_rule(business, deep)
    with scope(business=business):
        program_set_enabled(business=business, enabled=True)
    page = owner_client.get(url(business, f"rules/{rule.pk}/delete/"))
    assert "deleting it switches the program off" in page.content.decode()
    response = owner_client.post(url(business, f"rules/{rule.pk}/delete/"), follow=True)
    assert "the program was switched off" in response.content.decode()
    assert program_of(business).enabled is False


def test_deleting_a_rule_twice_answers_404(owner_client, business, deep):
    rule = make_rule(business, deep)
    owner_client.post(url(business, f"rules/{rule.pk}/delete/"))
    assert owner_client.post(url(business, f"rules/{rule.pk}/delete/")).status_code == 404


# --- Who may ------------------------------------------------------------------------------------------------------


def owner_only_requests(business, rule):
    return [
        ("get", url(business), None),
        ("post", url(business), settings_form(attribution_window_days="7")),
        ("post", url(business, "enabled/"), {"enabled": "1"}),
        ("get", url(business, "rules/new/"), None),
        ("post", url(business, "rules/new/"), None),
        ("get", url(business, f"rules/{rule.pk}/"), None),
        ("post", url(business, f"rules/{rule.pk}/"), {"referee_value": "99"}),
        ("post", url(business, f"rules/{rule.pk}/move/"), {"direction": "up"}),
        ("get", url(business, f"rules/{rule.pk}/delete/"), None),
        ("post", url(business, f"rules/{rule.pk}/delete/"), None),
    ]


def test_staff_get_403_and_change_nothing(staff_client, business, deep):
    rule = make_rule(business, deep)
    for method, address, data in owner_only_requests(business, rule):
        response = getattr(staff_client, method)(address, data or {})
        assert response.status_code == 403, (method, address)
    assert program_of(business).attribution_window_days == 30
    assert program_of(business).enabled is False
    assert [r.pk for r in rules_of(business)] == [rule.pk]


def test_an_outsider_gets_404(outsider_client, business, deep):
    rule = make_rule(business, deep)
    for method, address, data in owner_only_requests(business, rule):
        response = getattr(outsider_client, method)(address, data or {})
        assert response.status_code == 404, (method, address)
    assert [r.pk for r in rules_of(business)] == [rule.pk]


def test_another_business_rule_ids_answer_404_under_the_owners_own_business(
    outsider_client, business, other_business, deep
):
    """The outsider owns other_business: using this business's rule id under their own slug finds nothing."""
    rule = make_rule(business, deep)
    theirs = make_service(other_business, "Their massage")
    for path, data in [
        (f"rules/{rule.pk}/", rule_form(theirs)),
        (f"rules/{rule.pk}/move/", {"direction": "up"}),
        (f"rules/{rule.pk}/delete/", {}),
    ]:
        assert outsider_client.post(url(other_business, path), data).status_code == 404
    assert outsider_client.get(url(other_business, f"rules/{rule.pk}/")).status_code == 404
    assert outsider_client.get(url(other_business, f"rules/{rule.pk}/delete/")).status_code == 404
    (kept,) = rules_of(business)
    assert list(kept.services.all()) == [deep]
