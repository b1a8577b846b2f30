"""What a person does on the drawing pad, for the browser tests."""

from __future__ import annotations


def draw_one(page) -> None:
    """Draw a "1": a vertical line down the middle of the pad with the mouse."""
    box = page.locator("#pad").bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + 0.15 * box["height"])
    page.mouse.down()
    for k in range(1, 21):
        page.mouse.move(x + k * 0.2, box["y"] + (0.15 + 0.035 * k) * box["height"])
    page.mouse.up()
