"""How a form field is drawn: label, hint, error next to the field, and the ARIA that ties
them together (``aria-describedby``, ``aria-invalid``). Used by every template, so every
field is labelled and every error is announced the same way.
"""

from __future__ import annotations

from markupsafe import Markup, escape


def _described(field, extra_hint: bool) -> tuple[list[str], Markup]:
    ids, parts = [], []
    if extra_hint and field.description:
        ids.append(f"{field.id}-hint")
        parts.append(f'<p class="hint" id="{field.id}-hint">{escape(field.description)}</p>')
    if field.errors:
        ids.append(f"{field.id}-error")
        text = " ".join(str(e) for e in field.errors)
        parts.append(
            f'<p class="error" id="{field.id}-error">'
            f'<span class="visually-hidden">Error: </span>{escape(text)}</p>'
        )
    return ids, Markup("".join(parts))


def _attrs(field, ids: list[str], attrs: dict) -> dict:
    attrs = dict(attrs)
    if ids or attrs.get("aria-describedby"):
        attrs["aria-describedby"] = " ".join([*ids, *attrs.get("aria-describedby", "").split()])
    if field.errors:
        attrs["aria-invalid"] = "true"
    attrs.setdefault("required", False)  # the server checks; the browser must not block it
    return attrs


def _limit(field, ids: list[str], attrs: dict) -> Markup:
    """A field's length limit, shown with a live counter (static/app.js) and never enforced
    by the browser: ``maxlength`` would silently cut a pasted "...3rd floor east wing" to
    "...3", where the server refuses it with a message at the field instead."""
    limit = getattr(field.flags, "maxlength", None)
    if not limit:
        return Markup("")
    attrs["maxlength"] = False
    attrs["data-max"] = limit
    attrs["data-counter"] = f"{field.id}-count"
    ids.append(f"{field.id}-count")
    return Markup(f'<p class="hint counter" id="{field.id}-count">Up to {limit} characters.</p>')


def text_field(field, **attrs) -> Markup:
    """A labelled input, select or textarea with its hint, its length limit and error."""
    ids, described = _described(field, True)
    label = escape(field.label.text)
    counter = _limit(field, ids, attrs)
    widget = field(**_attrs(field, ids, attrs))
    css = "field field--error" if field.errors else "field"
    return Markup(
        f'<div class="{css}"><label for="{field.id}">{label}</label>{described}{widget}'
        f"{counter}</div>"
    )


def choice_field(field, **attrs) -> Markup:
    """Radio buttons in a fieldset whose legend is the field's label."""
    ids, described = _described(field, True)
    options = []
    for option in field:
        option_html = option(**_attrs(field, ids, attrs))
        options.append(
            f'<div class="choice">{option_html}'
            f'<label for="{option.id}">{escape(option.label.text)}</label></div>'
        )
    css = "field field--error" if field.errors else "field"
    return Markup(
        f'<fieldset class="{css}" id="{field.id}"><legend>{escape(field.label.text)}'
        f"</legend>{described}{''.join(options)}</fieldset>"
    )


def check_field(field, **attrs) -> Markup:
    """A single checkbox with its label after it."""
    ids, described = _described(field, True)
    widget = field(**_attrs(field, ids, attrs))
    css = "field choice field--error" if field.errors else "field choice"
    return Markup(
        f'<div class="{css}">{widget}<label for="{field.id}">'
        f"{escape(field.label.text)}</label>{described}</div>"
    )


def error_summary(form) -> Markup:
    """The list of problems at the top of a rejected form, each a link to its field."""
    items = []
    for field in form:
        for error in field.errors:
            if field.type == "CSRFTokenField":
                items.append(f"<li>{escape(error)} Reload the page and try again.</li>")
            else:
                items.append(
                    f'<li><a href="#{field.id}">{escape(field.label.text)}: '
                    f"{escape(error)}</a></li>"
                )
    if not items:
        return Markup("")
    return Markup(
        '<div class="error-summary" role="alert" aria-labelledby="error-summary-title"'
        ' tabindex="-1" id="error-summary"><h2 id="error-summary-title">'
        "There is a problem</h2><ul>" + "".join(items) + "</ul></div>"
    )


def init_app(app) -> None:
    app.jinja_env.globals.update(
        text_field=text_field,
        choice_field=choice_field,
        check_field=check_field,
        error_summary=error_summary,
    )
