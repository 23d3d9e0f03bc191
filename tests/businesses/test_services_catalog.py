"""The catalog of services: use cases, the owner's form and who may change what."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from businesses.catalog import ServiceData, service_archive, service_create, service_update
from businesses.models import AuditLog, PaymentPlan, PlanInterval, Service

pytestmark = pytest.mark.django_db


def index(business):
    return f"/b/{business.slug}/services/"


def form_data(**overrides):
    data = {
        "name": "Deep tissue massage",
        "description": "Sixty minutes of firm pressure.",
        "price": "49.90",
        "duration_minutes": "60",
        "online_bookable": "on",
        "payment_plan": "one_off",
        "plan_interval": "month",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- Use cases ----------------------------------------------------------------------------------------------------


def test_service_create_stores_the_service_and_audits_it(in_scope, owner):
    service = service_create(
        business=in_scope,
        data=ServiceData(name="  Hot   stone ", price=55_00, payment_plan=PaymentPlan.INSTALMENTS, plan_count=3),
        actor=owner,
    )
    assert service.name == "Hot stone"
    assert service.plan_summary == "3 monthly instalments"
    log = AuditLog.objects.get(business=in_scope, action="service.created")
    assert (log.actor, log.subject_id) == (owner, service.pk)


@pytest.mark.parametrize(
    "plan,count,ok",
    [
        (PaymentPlan.ONE_OFF, 1, True),
        (PaymentPlan.ONE_OFF, 2, False),
        (PaymentPlan.INSTALMENTS, 1, False),
        (PaymentPlan.INSTALMENTS, 2, True),
        (PaymentPlan.INSTALMENTS, 36, True),
        (PaymentPlan.INSTALMENTS, 37, False),
        (PaymentPlan.MEMBERSHIP, 1, True),
        (PaymentPlan.MEMBERSHIP, 36, True),
        (PaymentPlan.MEMBERSHIP, 37, False),
        (PaymentPlan.PER_SESSION, 1, False),
        (PaymentPlan.PER_SESSION, 2, True),
        (PaymentPlan.PER_SESSION, 100, True),
        (PaymentPlan.PER_SESSION, 101, False),
    ],
)
def test_each_plan_has_its_range_of_payments(in_scope, plan, count, ok):
    data = ServiceData(name="Programme", price=100_00, payment_plan=plan, plan_count=count)
    if ok:
        assert service_create(business=in_scope, data=data).plan_count == count
    else:
        with pytest.raises(ValidationError) as error:
            service_create(business=in_scope, data=data)
        assert "plan_count" in error.value.message_dict
        assert not Service.objects.filter(business=in_scope).exists()


def test_names_are_unique_per_business_case_insensitively(in_scope, other_business):
    service_create(business=in_scope, data=ServiceData(name="Facial", price=30_00))
    with pytest.raises(ValidationError) as error:
        service_create(business=in_scope, data=ServiceData(name="FACIAL", price=30_00))
    assert "called “Facial” already" in error.value.message_dict["name"][0]
    with scope(business=other_business):
        assert service_create(business=other_business, data=ServiceData(name="Facial", price=30_00)).pk


def test_update_changes_only_what_changed_and_keeps_its_own_name(in_scope, owner):
    service = service_create(business=in_scope, data=ServiceData(name="Facial", price=30_00))
    same = service_update(business=in_scope, service=service, data=ServiceData(name="Facial", price=30_00))
    assert not AuditLog.objects.filter(action="service.updated").exists()
    updated = service_update(business=in_scope, service=same, data=ServiceData(name="facial", price=35_00), actor=owner)
    assert (updated.name, updated.price) == ("facial", 35_00)
    assert AuditLog.objects.get(action="service.updated").payload == {"fields": ["name", "price"]}


def test_archive_and_restore_are_idempotent(in_scope, owner):
    service = service_create(business=in_scope, data=ServiceData(name="Facial", price=30_00))
    service_archive(business=in_scope, service=service, actor=owner)
    service_archive(business=in_scope, service=service, actor=owner)
    assert not Service.objects.get(pk=service.pk).is_active
    assert AuditLog.objects.filter(action="service.archived").count() == 1
    service_archive(business=in_scope, service=service, actor=owner, archived=False)
    assert Service.objects.get(pk=service.pk).is_active
    assert AuditLog.objects.filter(action="service.restored").count() == 1


# --- Views --------------------------------------------------------------------------------------------------------


def test_the_owner_adds_a_service_with_a_decimal_price(owner_client, business):
    response = owner_client.post(index(business) + "new/", form_data())
    assert response.status_code == 302
    with scope(business=business):
        service = Service.objects.get(business=business)
    assert (service.name, service.price, service.payment_plan, service.plan_count) == (
        "Deep tissue massage",
        49_90,
        "one_off",
        1,
    )
    assert "£49.90" in owner_client.get(index(business)).content.decode()


def test_a_plan_with_instalments(owner_client, business):
    data = form_data(payment_plan="instalments", plan_count="6", plan_interval="week", price="300")
    assert owner_client.post(index(business) + "new/", data).status_code == 302
    with scope(business=business):
        service = Service.objects.get(business=business)
    assert (service.price, service.plan_count, service.plan_interval) == (300_00, 6, PlanInterval.WEEK)


def test_a_one_off_payment_without_the_hidden_plan_fields(owner_client, business):
    data = form_data(plan_interval=None)
    assert owner_client.post(index(business) + "new/", data).status_code == 302


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"price": "49.999"}, "price", "at most 2 decimal places"),
        ({"price": "-1"}, "price", "greater than or equal to 0"),
        ({"price": "abc"}, "price", "number"),
        ({"price": "99999999999"}, "price", "at most"),
        ({"name": ""}, "name", "required"),
        ({"duration_minutes": "0"}, "duration_minutes", "greater than or equal to 1"),
        ({"payment_plan": "barter"}, "payment_plan", "valid choice"),
        ({"payment_plan": "one_off", "plan_count": "3"}, "plan_count", "paid once"),
        ({"payment_plan": "instalments", "plan_count": "1"}, "plan_count", "between 2 and 36"),
        ({"payment_plan": "instalments"}, "plan_count", "how many"),
        ({"payment_plan": "membership", "plan_count": "40"}, "plan_count", "between 1 and 36"),
        ({"payment_plan": "per_session", "plan_count": "101"}, "plan_count", "between 2 and 100"),
    ],
)
def test_bad_input_answers_field_errors_and_creates_nothing(owner_client, business, overrides, field, message):
    response = owner_client.post(index(business) + "new/", form_data(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message.lower() in " ".join(errors[field]).lower()
    with scope(business=business):
        assert not Service.objects.filter(business=business).exists()


def test_prices_follow_the_currency_s_decimal_places(owner_client, business):
    business.currency = "JPY"
    business.save()
    response = owner_client.post(index(business) + "new/", form_data(price="4990.5"))
    assert "no decimal places" in " ".join(response.context["form"].errors["price"])
    assert owner_client.post(index(business) + "new/", form_data(price="4990")).status_code == 302
    with scope(business=business):
        assert Service.objects.get(business=business).price == 4990


def test_a_duplicate_name_is_a_field_error(owner_client, business):
    owner_client.post(index(business) + "new/", form_data())
    response = owner_client.post(index(business) + "new/", form_data(name="deep TISSUE massage"))
    assert response.status_code == 400
    assert "already" in " ".join(response.context["form"].errors["name"])


def test_the_owner_edits_a_service(owner_client, business):
    with scope(business=business):
        service = Service.objects.create(business=business, name="Facial", price=30_00)
    page = owner_client.get(index(business) + f"{service.pk}/edit/")
    assert page.status_code == 200 and 'value="30.00"' in page.content.decode()
    response = owner_client.post(
        index(business) + f"{service.pk}/edit/",
        form_data(name="Facial deluxe", price="35.50", payment_plan="per_session", plan_count="5"),
    )
    assert response.status_code == 302
    with scope(business=business):
        service.refresh_from_db()
    assert (service.name, service.price, service.plan_count) == ("Facial deluxe", 35_50, 5)


def test_archive_and_restore_from_the_list(owner_client, business):
    with scope(business=business):
        service = Service.objects.create(business=business, name="Facial", price=30_00)
    archive = index(business) + f"{service.pk}/archive/"
    assert owner_client.post(archive, {"archived": "1"}).status_code == 302
    # A double submit does not undo the first.
    owner_client.post(archive, {"archived": "1"})
    with scope(business=business):
        assert not Service.objects.get(pk=service.pk).is_active
    assert "<strong>Facial</strong>" not in owner_client.get(index(business)).content.decode()
    assert "<strong>Facial</strong>" in owner_client.get(index(business), {"tab": "archived"}).content.decode()
    owner_client.post(archive, {"archived": "0"})
    with scope(business=business):
        assert Service.objects.get(pk=service.pk).is_active
    assert owner_client.get(archive).status_code == 405


def test_the_list_has_an_empty_state_for_each_tab(owner_client, business):
    assert "Add your first service" in owner_client.get(index(business)).content.decode()
    assert "No archived services" in owner_client.get(index(business), {"tab": "archived"}).content.decode()


def test_staff_see_the_catalog_but_cannot_change_it(client, business, staff):
    with scope(business=business):
        service = Service.objects.create(business=business, name="Facial", price=30_00)
    client.force_login(staff)
    page = client.get(index(business)).content.decode()
    assert "<strong>Facial</strong>" in page
    assert index(business) + "new/" not in page and "Archive Facial" not in page and "Edit Facial" not in page
    assert client.get(index(business) + "new/").status_code == 403
    assert client.post(index(business) + "new/", form_data()).status_code == 403
    assert client.post(index(business) + f"{service.pk}/edit/", form_data(name="Hacked")).status_code == 403
    assert client.post(index(business) + f"{service.pk}/archive/").status_code == 403
    with scope(business=business):
        service.refresh_from_db()
    assert service.name == "Facial" and service.is_active


def test_an_outsider_gets_404(outsider_client, business, other_business):
    with scope(business=business):
        service = Service.objects.create(business=business, name="Facial", price=30_00)
    assert outsider_client.get(index(business)).status_code == 404
    # Their own business's address with this business's service id finds nothing.
    mine = f"/b/{other_business.slug}/services/{service.pk}/"
    assert outsider_client.get(mine + "edit/").status_code == 404
    assert outsider_client.post(mine + "archive/", {"archived": "1"}).status_code == 404
    with scope(business=business):
        assert Service.objects.get(pk=service.pk).is_active


def test_services_are_in_the_navigation(staff_client, business):
    assert f'href="/b/{business.slug}/services/"' in staff_client.get(f"/b/{business.slug}/").content.decode()


# --- Price limits and money -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "price,message",
    [
        ("1e30", "too large"),
        ("9" * 30 + ".99", "too large"),
        ("-1e30", "greater than or equal to 0"),
        ("20000000", "at most £10,000,000.00"),
        ("10000000.01", "at most £10,000,000.00"),
    ],
)
def test_a_huge_price_is_a_field_error_not_a_crash(owner_client, business, price, message):
    response = owner_client.post(index(business) + "new/", form_data(price=price))
    assert response.status_code == 400
    assert message.lower() in " ".join(response.context["form"].errors["price"]).lower()
    with scope(business=business):
        assert not Service.objects.filter(business=business).exists()


def test_the_highest_price_is_accepted(owner_client, business):
    assert owner_client.post(index(business) + "new/", form_data(price="10000000.00")).status_code == 302


def test_the_catalog_caps_the_price_whatever_calls_it(in_scope):
    from businesses.catalog import MAX_PRICE_MINOR

    with pytest.raises(ValidationError) as refused:
        service_create(business=in_scope, data=ServiceData(name="Gold", price=MAX_PRICE_MINOR + 1))
    assert "at most £10,000,000.00" in refused.value.message_dict["price"][0]
    assert service_create(business=in_scope, data=ServiceData(name="Gold", price=MAX_PRICE_MINOR)).price == 10**9


@pytest.mark.parametrize(
    "value,currency,expected",
    [
        ("49.90", "GBP", 4990),
        ("49.9", "GBP", 4990),
        ("0", "GBP", 0),
        ("4990", "JPY", 4990),
        ("1.234", "KWD", 1234),
        ("-5.00", "EUR", -500),
        ("10000000000000.00", "GBP", 10**15),
    ],
)
def test_to_minor_reads_amounts(value, currency, expected):
    from businesses.money import to_minor

    assert to_minor(value, currency) == expected


@pytest.mark.parametrize("value", ["1e30", "-1e30", "9" * 40, "10000000000000.01", "1" + "0" * 27 + ".5"])
def test_to_minor_refuses_huge_amounts_with_a_validation_error(value):
    from businesses.money import AmountTooLarge, to_minor

    with pytest.raises(AmountTooLarge) as refused:
        to_minor(value, "GBP")
    assert isinstance(refused.value, ValidationError) and "too large" in refused.value.messages[0]


@pytest.mark.parametrize(
    "value,currency", [("49.999", "GBP"), ("1.5", "JPY"), ("NaN", "GBP"), ("Infinity", "GBP"), ("abc", "GBP")]
)
def test_to_minor_refuses_what_is_not_an_amount_with_a_value_error(value, currency):
    from businesses.money import to_minor

    with pytest.raises(ValueError):
        to_minor(value, currency)


@pytest.mark.parametrize(
    "amount,currency,expected",
    [
        (4990, "GBP", "£49.90"),
        (0, "GBP", "£0.00"),
        (4990, "JPY", "¥4,990"),
        ("4990", "EUR", "€49.90"),
        (None, "GBP", ""),
        ("", "GBP", ""),
        ("n/a", "GBP", "n/a"),
        (36 * 10**9, "USD", "$360,000,000.00"),
    ],
)
def test_the_money_filter_formats_minor_units_in_the_currency(amount, currency, expected):
    from django.template import Context, Template

    rendered = Template("{% load money %}{{ amount|money:currency }}").render(
        Context({"amount": amount, "currency": currency})
    )
    assert rendered == expected
