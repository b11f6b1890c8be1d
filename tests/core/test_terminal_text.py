from __future__ import annotations

import pytest

from hangar.core.terminal_text import check_send_text


@pytest.mark.parametrize("text", ["", "hello", "two\nlines", "a\tb", "Enter", "C-c", "émoji ✓"])
def test_text_and_newlines_and_tabs_pass(text: str) -> None:
    assert check_send_text(text) == text


@pytest.mark.parametrize("ch", ["\x1b", "\r", "\x03", "\x00", "\x7f", "\x08"])
def test_every_other_control_character_is_refused_with_its_offset(ch: str) -> None:
    with pytest.raises(ValueError, match=r"control character .* at offset 2"):
        check_send_text("ab" + ch + "cd")
