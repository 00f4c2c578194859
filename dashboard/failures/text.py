"""The one rule for showing text from users' files (reasons, identifiers, file names): the
characters a person cannot see, or that change how the text around them reads, are drawn.

- C0 controls and DEL as their Unicode control pictures (`␀`, `␛`, `␡`); tab, newline and
  carriage return are left as they are (HTML shows them as spaces);
- C1 controls, zero-width characters, line and paragraph separators, bidirectional marks,
  embeddings, overrides and isolates, word joiners and the byte order mark written out
  (`⟨U+202E⟩`): `invoice-\u202egpj.exe` would read as `invoice-exe.jpg`, even in a <bdi>.

Table cells, patterns of reasons, search marks and tab titles all apply this rule, so a
cell and its pattern always show one character the same way.
"""

from __future__ import annotations

_WHITESPACE = "\t\n\r"
_WRITTEN_OUT = (
    [chr(code) for code in range(0x80, 0xA0)]
    + ["\u061c", "\u2028", "\u2029", "\ufeff"]
    + [chr(code) for code in range(0x200B, 0x2010)]
    + [chr(code) for code in range(0x202A, 0x202F)]
    + [chr(code) for code in range(0x2060, 0x206A)]
)
_TABLE: dict[int, int | str] = (
    {code: 0x2400 + code for code in range(0x20) if chr(code) not in _WHITESPACE}
    | {0x7F: 0x2421}
    | {ord(char): f"⟨U+{ord(char):04X}⟩" for char in _WRITTEN_OUT}
)


def visible(text: str | None) -> str:
    """`text` with the characters nobody sees drawn (see the module); "" for None."""
    if text is None:
        return ""
    return str(text).translate(_TABLE)
