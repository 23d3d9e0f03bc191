from django.contrib import admin

from .models import Autopilot, OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "business", "template", "to_address", "status", "attempts")
    list_filter = ("status", "template")
    search_fields = ("to_address", "idempotency_key")
    raw_id_fields = ("business", "client")
    readonly_fields = ("idempotency_key", "created_at", "sent_at", "dispatched_at", "claimed_until")


@admin.register(Autopilot)
class AutopilotAdmin(admin.ModelAdmin):
    list_display = ("business", "kind", "enabled", "delay_minutes", "days_before", "updated_at")
    raw_id_fields = ("business",)
