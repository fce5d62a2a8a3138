"""Text from the database as a terminal may show it: literally, with every control character made visible.

A name, a reason or an event's data may hold anything an operator (or an attacker) typed: escape sequences that clear
the screen, write the clipboard (OSC 52) or forge a hyperlink, a bell, a carriage return that overwrites what came
before, bidirectional overrides that show text reversed, invisible characters that hide or misalign text. None of it
may reach the terminal as a control: each such character is shown as its escape (``\\x1b``, ``\\u202e``), as Python
and JSON would write it, so that the screen shows what is stored, and nothing more. Front ends also never read such
text as markup.
"""

from __future__ import annotations

_C0 = [code for code in range(0x20) if code not in (0x09, 0x0A)]  # tabs and newlines: see ``visible``
_C1 = list(range(0x7F, 0xA0))  # DEL and the C1 controls (0x9b is a CSI on its own)
_BIDI = [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]  # marks, embeddings, overrides
# Invisible characters of no width (zero-width space, non-joiner and joiner, word joiner, byte order mark, soft hyphen):
# terminals disagree on their width, so a table measured one way is drawn another, and they hide text (paypa\u200bl).
_INVISIBLE = [0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF]


def _escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_ESCAPED = {code: _escape(code) for code in (*_C0, *_C1, *_BIDI, *_INVISIBLE)}
_ONE_LINE = _ESCAPED | {0x09: "\\t", 0x0A: "\\n"}


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` with its control characters shown as escapes; tabs and newlines too, unless ``lines`` (for a widget
    that shows several lines, such as a detail pane)."""
    return text.translate(_ESCAPED if lines else _ONE_LINE)
