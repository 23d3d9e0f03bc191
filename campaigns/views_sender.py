"""The sender settings: the name clients see on the business's e-mail and where their replies go."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from businesses.forms import add_errors
from referrals_saas.tenancy import business_view

from .delivery import sender_for
from .models import MessagingSettings
from .services import messaging_settings_save


class SenderForm(forms.Form):
    sender_name = forms.CharField(
        label="Sender name", required=False, max_length=100, help_text="Empty: your business's name."
    )
    reply_to = forms.CharField(
        label="Replies go to",
        required=False,
        max_length=254,
        help_text="Empty: the owner's e-mail address.",
        widget=forms.EmailInput(),
    )


@business_view(owner_only=True)
def sender(request):
    business = request.business
    saved = MessagingSettings.objects.filter(business=business).first()
    initial = {"sender_name": saved.sender_name, "reply_to": saved.reply_to} if saved else {}
    form = SenderForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                messaging_settings_save(business=business, **form.cleaned_data)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, "The sender settings are saved: new messages use them.")
                return redirect("campaigns:sender", business_slug=business.slug)
        status = 400
    from_header, reply_to = sender_for(business)
    context = {"form": form, "from_header": from_header, "reply_to": reply_to, "active_section": "campaigns"}
    return render(request, "campaigns/sender.html", context, status=status)
