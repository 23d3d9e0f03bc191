"""E-mails the widget writes to the outbox, rendered from the product's own templates (not the owners' sandbox)."""

from __future__ import annotations

from django.template.loader import render_to_string

from campaigns.sandbox import Rendered


def render_email(name: str, context: dict) -> Rendered:
    """templates/emails/<name>_subject.txt, <name>.txt and <name>.html as one outbox message's content."""
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())[:200]
    text = render_to_string(f"emails/{name}.txt", context).strip() + "\n"
    html = render_to_string(f"emails/{name}.html", context).strip()
    return Rendered(subject=subject, text=text, html=html)
