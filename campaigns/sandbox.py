"""The renderer for the message templates owners write: Django's template language, cut down to a safe subset.

Only `if`, `for` and `comment` tags and a few text filters exist here (no `load`, `include`, `extends`, `url`,
`debug`), there is no template loader, and the context holds plain strings and numbers, never model objects:
an owner can place variables and conditions but cannot reach code or data beyond the variables offered. A
missing variable renders empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.template import Context, Engine, Library, Template, TemplateSyntaxError, defaultfilters, defaulttags
from django.utils.html import linebreaks

register = Library()
for _tag in ("if", "for", "comment", "firstof"):
    register.tags[_tag] = defaulttags.register.tags[_tag]
for _filter in ("default", "upper", "lower", "title", "capfirst", "pluralize", "length", "truncatewords", "yesno"):
    register.filters[_filter] = defaultfilters.register.filters[_filter]


class _SandboxEngine(Engine):
    default_builtins = ["campaigns.sandbox"]


_engine = _SandboxEngine(loaders=[], libraries={}, string_if_invalid="", autoescape=True)

Variables = dict[str, str | int]


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def check(source: str, sample: Variables) -> None:
    """Raise TemplateSyntaxError, in words an owner can act on, if `source` does not compile in the sandbox or
    fails to render on `sample` (a loop over a number compiles, then fails)."""
    try:
        template = _engine.from_string(source)
    except TemplateSyntaxError as exc:
        message = str(exc)
        unknown = re.match(r"Invalid block tag on line (\d+): '([^']+)'", message)
        if unknown:
            message = f"Line {unknown[1]}: {{% {unknown[2]} %}} is not available in messages."
        raise TemplateSyntaxError(message) from None
    try:
        template.render(Context(_clean(sample), autoescape=False))
    except Exception as exc:  # whatever the owner's template trips on is reported as their error
        raise TemplateSyntaxError(f"This cannot be filled in: {exc}") from None


def _clean(variables: Variables) -> dict[str, str | int]:
    # Plain values only: a model object here would open its attributes and methods to the template.
    return {key: value if isinstance(value, int) else str(value) for key, value in variables.items()}


def render(subject: str, body: str, variables: Variables) -> Rendered:
    """Subject and plain text rendered without escaping, the HTML part with autoescape (a friend called
    `<b>Bob</b>` stays text). Raises TemplateSyntaxError for a template that does not compile."""
    return compile_message(subject, body).render(variables)


@dataclass(frozen=True)
class Compiled:
    """A subject and body compiled once, to render for many recipients (a campaign's batch)."""

    subject: Template
    body: Template

    def render(self, variables: Variables) -> Rendered:
        values = _clean(variables)
        # A header cannot hold a line break (Django refuses it): the subject becomes one line.
        rendered_subject = " ".join(self.subject.render(Context(values, autoescape=False)).split())[:200]
        text = _tidy(self.body.render(Context(values, autoescape=False)))
        html = linebreaks(_tidy(self.body.render(Context(values, autoescape=True))).strip(), autoescape=False)
        return Rendered(subject=rendered_subject, text=text, html=html)


def compile_message(subject: str, body: str) -> Compiled:
    """Raises TemplateSyntaxError for a template that does not compile."""
    return Compiled(_engine.from_string(subject), _engine.from_string(body))


def _tidy(text: str) -> str:
    """Conditions that render nothing leave blank lines behind: keep at most one empty line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


__all__ = ["Compiled", "Rendered", "TemplateSyntaxError", "check", "compile_message", "render"]
