"""Statuses in colour, from the theme's own variables, so that every theme (light or dark) reads them well."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual.app import App
from textual.color import Color, ColorParseError

from .literal import literal

# A status that wants the operator's eye, by the theme variable that colours it; any other is shown plain.
COLOURS = {
    "suspended": "text-warning",
    "exhausted": "text-warning",
    "invited": "text-primary",
    "pending": "text-primary",
    "revoked": "text-error",
    "deleted": "text-error",
    "expired": "text-error",
    "left": "foreground-muted",
}


def coloured(app: App[Any], status: str) -> Text:
    """``status`` as a table cell: literal text, in its theme colour."""
    text = literal(status)
    variables = app.theme_variables
    if (variable := COLOURS.get(status)) is None or variable not in variables:
        return text
    try:  # a muted colour has an alpha: blended onto the background, as Textual's own CSS does
        colour = Color.parse(variables["background"]) + Color.parse(variables[variable])
    except ColorParseError:  # "auto" and the like: left to the widget
        return text
    text.stylize(Style(color=colour.rich_color))
    return text
