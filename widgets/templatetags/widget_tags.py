"""`{% load widget_tags %}{% widget_head business %}` in the <head> of a public widget page: the business's colours
as CSS custom properties and the script that tells an embedding page how tall the widget is."""

from __future__ import annotations

from django import template

from ..selectors import widget_theme

register = template.Library()


@register.inclusion_tag("widgets/_head.html", takes_context=True)
def widget_head(context, business):
    """Uses `widget_theme` from the context when the view put it there (one query saved, or the preview's values)."""
    return {"theme": context.get("widget_theme") or widget_theme(business)}
