"""Public widget URLs outside a business's folder (the embed script), included at the site root."""

from django.urls import path

from . import views_embed

urlpatterns = [
    path("w/embed.js", views_embed.embed_script, name="widget_embed_script"),
]
