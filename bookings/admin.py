from django.contrib import admin

from .models import Booking, BookingDiscount, BookingEvent, Payment


class BookingDiscountInline(admin.TabularInline):
    model = BookingDiscount
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "label", "amount", "source_type", "source_id", "code", "created_at"]
    exclude = ["business"]


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    readonly_fields = ["sequence", "due_on", "amount", "discount", "status", "method", "paid_at", "recorded_by"]
    exclude = ["business"]


class BookingEventInline(admin.TabularInline):
    model = BookingEvent
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "actor", "note", "created_at"]
    exclude = ["business"]


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """For operators: read-only, because status changes must go through the services (locks, events, figures)."""

    list_display = ["starts_at", "business", "client", "service", "status", "total", "is_first_booking", "channel"]
    list_filter = ["status", "channel", "is_first_booking"]
    search_fields = ["client__first_name", "client__last_name", "client__email", "business__slug"]
    list_select_related = ["business", "client", "service"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["client", "service", "status_changed_by", "created_by"]
    inlines = [BookingDiscountInline, PaymentInline, BookingEventInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["booking", "business", "sequence", "due_on", "amount", "status", "method", "paid_at"]
    list_filter = ["status", "method"]
    list_select_related = ["booking__client", "booking__service", "business"]
    raw_id_fields = ["booking", "recorded_by"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False
