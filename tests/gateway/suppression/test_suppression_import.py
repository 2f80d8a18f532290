"""How an import file's lines are read: the number cell of each CSV dialect operators send."""

from __future__ import annotations

import pytest

from gateway.suppression.store import first_cell


@pytest.mark.parametrize(("line", "cell"), [
    ("+33612345678", "+33612345678"),
    ("+33612345678\r\n", "+33612345678"),
    ("  06 12 34 56 78  ", "06 12 34 56 78"),
    ("+33612345678,Alice,2026-11-23", "+33612345678"),
    ("+33612345678;Alice;2026-11-23", "+33612345678"),  # European spreadsheets
    ("+33612345678\tAlice", "+33612345678"),
    ('"+33 6 12 34 56 78","Doe, John"', "+33 6 12 34 56 78"),
    ('"+33 6 12 34 56 78";"Doe; John"', "+33 6 12 34 56 78"),
    ('"06 12 ""34"" 56 78",x', '06 12 "34" 56 78'),
    ('"+33612345678', "+33612345678"),  # no closing quote
    ('+33612345678,"Doe, John"', "+33612345678"),
    (",Alice", ""),  # a line without its number: reported
    ("", None),  # blank lines and comments: skipped
    ("   ", None),
    ("# exported 2026-11-23", None),
])
def test_the_first_cell_is_the_number(line: str, cell: str | None) -> None:
    assert first_cell(line) == cell
