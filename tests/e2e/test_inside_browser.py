"""End-to-end: "why?" on a recognised digit (issue 17, part 6): the layer list with the output shapes, the saliency
map and the filters, in English and in Chinese, for a chosen picture and for a drawing, at phone width."""

from __future__ import annotations

import pytest

from e2e.pad import draw_one
from e2e.test_browser import TIMEOUT_MS, check_answer_shown, digit_png, shipped_model  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


SETTLED = """(root) => new Promise((done) => {
  let timer = setTimeout(done, 700);
  new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(done, 700); })
    .observe(document.querySelector(root), { childList: true, subtree: true });
})"""  # resolves once nothing under root has changed for 0.7 s (the pad reads every pause of a stroke)


def open_why(page, root: str):
    """Click the first "why?" under ``root`` and wait for the layer list; the panel."""
    check_answer_shown(page, root)
    page.locator(f"{root} [data-testid=why]").first.click()
    page.locator(f"{root} [data-testid=inside-layers]").first.wait_for(timeout=TIMEOUT_MS)
    return page.locator(f"{root} [data-testid=inside]").first


def test_why_shows_the_layers_with_their_shapes_and_the_saliency(page, digit_png, shipped_model, shot):  # noqa: F811
    page.set_input_files("#file-input", str(digit_png))
    assert page.locator("#answers [data-testid=why]").first.inner_text() == "why?"
    panel = open_why(page, "#answers")
    shapes = panel.locator("[data-testid=inside-shape]").all_inner_texts()
    assert shapes[0] == "[1, 32, 26, 26]" and "[1, 576]" in shapes and shapes[-1] == "[1, 10]"  # the shipped cnn
    assert panel.locator("[data-testid=inside-saliency]").evaluate("img => img.complete && img.naturalWidth") == 28
    assert panel.locator("[data-testid=inside-gradcam]").evaluate("img => img.naturalWidth") == 28
    assert panel.locator("[data-testid=inside-filters]").evaluate("img => img.naturalWidth") > 0
    assert "The network answers 7" in panel.locator(".inside-answer").inner_text()
    shot(page, "inside")
    page.select_option("#lang", "zh")  # the answers are drawn again: the open panel stays open, now in Chinese
    panel = page.locator("#answers [data-testid=inside]").first
    assert panel.is_visible() and "各层（按图片经过的顺序）" in panel.inner_text()
    page.locator("#answers [data-testid=why]").first.click()
    assert panel.is_hidden()
    page.select_option("#lang", "en")


def test_why_of_a_drawing_in_chinese_at_phone_width(page, shipped_model, shot):  # noqa: F811
    page.set_viewport_size({"width": 360, "height": 740})
    page.select_option("#lang", "zh")
    draw_one(page)
    check_answer_shown(page, "#pad-answer")
    page.evaluate(SETTLED, "#pad-answer")  # the last answer: the one for the whole stroke
    assert page.locator("#pad-answer [data-testid=why]").first.inner_text() == "为什么？"
    panel = open_why(page, "#pad-answer")
    text = panel.inner_text()
    assert "网络的回答是" in text and "第一层的滤波器" in text and "why?" not in text
    assert "[1, 576]" in panel.locator("[data-testid=inside-shape]").all_inner_texts()
    assert panel.locator("[data-testid=inside-saliency]").evaluate("img => img.naturalWidth") == 28
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    shot(page, "inside-zh-mobile")
    page.select_option("#lang", "en")
