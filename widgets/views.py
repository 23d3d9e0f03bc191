"""The dashboard's Widget page (owner only): the snippet for the business's website, the look, texts, share message,
logo and allowed origins, and a live preview of the widget with the values not saved yet."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from businesses.forms import add_errors
from referrals_saas.tenancy import business_view

from .forms import WidgetLookForm
from .selectors import widget_settings_for, widget_theme_preview
from .services import widget_look_update
from .views_embed import site_origin
from .views_public import landing_context

SECTION = "widget"


def embed_snippet(slug: str, path: str = "") -> str:
    """The HTML a business pastes into its website; `path` opens a sub page such as "me/"."""
    extra = f' data-referral-widget-path="{path}"' if path else ""
    return (
        f'<div data-referral-widget="{slug}"{extra}></div>\n'
        f'<script async src="{site_origin()}{reverse("widget_embed_script")}"></script>'
    )


def _page(request, form: WidgetLookForm, widget_settings, status: int = 200):
    business = request.business
    context = {
        "form": form,
        "active_section": SECTION,
        "widget_settings": widget_settings,
        "snippet": embed_snippet(business.slug),
        "profile_snippet": embed_snippet(business.slug, "me/"),
        "standalone_url": settings.SITE_URL + reverse("widget_public:landing", args=[business.slug]),
        "logo_url": widget_settings.logo_digest
        and reverse("widget_public:logo", args=[business.slug, widget_settings.logo_digest]),
        "origins": widget_settings.allowed_origin_list,
    }
    return render(request, "widgets/settings/index.html", context, status=status)


@business_view(owner_only=True)
def index(request):
    business = request.business
    widget_settings = widget_settings_for(business)
    form = WidgetLookForm.for_settings(widget_settings, request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                widget_look_update(business=business, data=form.look_data(), actor=request.user)
            except ValidationError as error:
                add_errors(form, error)
            else:
                messages.success(request, "The widget settings were saved.")
                return redirect("widgets:index", business_slug=business.slug)
        return _page(request, form, widget_settings, status=400)
    return _page(request, form, widget_settings)


@business_view(owner_only=True)
@xframe_options_sameorigin
@require_safe
def preview(request):
    """The widget's landing page drawn with the colours and texts in the query string (unsaved); framed by the
    Widget page. Values that would be refused on save show the saved ones."""
    business = request.business
    context = landing_context(request, business)
    context["widget_theme"] = widget_theme_preview(business, request.GET)
    context["preview"] = True
    return render(request, "widgets/landing.html", context)
