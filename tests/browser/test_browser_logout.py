"""In Chromium: the header's logout button is readable on every panel page (WCAG contrast of
its label against what is really behind it) and clicking it ends the session on /login."""

from __future__ import annotations

import re

import pytest
from panel_floor import login, panel_floor
from playwright.async_api import expect

T = 20_000  # ms: generous, only catches hangs
MIN_CONTRAST = 4.5  # WCAG 2.x AA for normal-size text

# The button's colours and those of each ancestor up to <html>, as getComputedStyle gives them.
_COLOURS_JS = """(el) => {
  const out = [];
  for (let e = el; e; e = e.parentElement) {
    const s = getComputedStyle(e);
    out.push({tag: e.tagName, color: s.color, background: s.backgroundColor});
  }
  return out;
}"""

RGBA = tuple[float, float, float, float]


def parse_colour(text: str) -> RGBA:
    """``rgb(r, g, b)`` or ``rgba(r, g, b, a)`` (Chromium's computed form) as floats."""
    m = re.fullmatch(r"rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+))?\s*\)",
                     text.strip())
    assert m, f"unexpected computed colour {text!r}"
    alpha = float(m.group(4)) if m.group(4) is not None else 1.0
    return float(m.group(1)), float(m.group(2)), float(m.group(3)), alpha


def over(top: RGBA, below: RGBA) -> RGBA:
    """``top`` painted over an opaque ``below``."""
    a = top[3]
    return (top[0] * a + below[0] * (1 - a), top[1] * a + below[1] * (1 - a),
            top[2] * a + below[2] * (1 - a), 1.0)


def backdrop(chain: list[dict[str, str]]) -> RGBA:
    """The opaque colour behind the element: its own background and its ancestors' composited,
    from the nearest opaque one down (a transparent button shows its header)."""
    layers: list[RGBA] = []
    for node in chain:
        colour = parse_colour(node["background"])
        layers.append(colour)
        if colour[3] >= 1.0:
            break
    result: RGBA = (255.0, 255.0, 255.0, 1.0)  # the canvas when nothing is opaque
    for layer in reversed(layers):
        result = over(layer, result)
    return result


def luminance(c: RGBA) -> float:
    """WCAG relative luminance of an opaque sRGB colour."""
    def channel(v: float) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2])


def contrast(a: RGBA, b: RGBA) -> float:
    """WCAG contrast ratio, 1 (same) to 21 (black on white)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_contrast_helpers_tell_white_on_white_from_white_on_the_header():
    # The helpers must be able to fail: the bug was white text on a white button.
    white = parse_colour("rgb(255, 255, 255)")
    assert contrast(white, backdrop([{"background": "rgb(255, 255, 255)"}])) == 1.0
    header = [{"background": "rgba(0, 0, 0, 0)"}, {"background": "rgb(29, 35, 48)"}]
    assert contrast(white, backdrop(header)) > 14
    assert backdrop([{"background": "rgba(255, 255, 255, 0.5)"}, {"background": "rgb(0, 0, 0)"}]
                    )[:3] == (127.5, 127.5, 127.5)


@pytest.mark.parametrize("page_name", ["agent", "wallboard", "admin"])
async def test_logout_button_is_readable_and_logs_out(browser, tmp_path, page_name):
    async with panel_floor(tmp_path) as floor:
        # An admin with an agent id may open all three pages.
        await floor.add_user("root", "admin", "1001")
        page = await login(browser, floor, "root")
        await page.goto(f"{floor.url}/{page_name}")
        # The session is loaded (and the click handler bound) once the header names the user.
        await expect(page.locator("#who")).to_have_text("root (admin)", timeout=T)
        button = page.locator("header button#logout")
        await expect(button).to_be_visible()
        await expect(button).to_have_text("Log out")

        chain = await button.evaluate(_COLOURS_JS)
        text = parse_colour(chain[0]["color"])
        behind = backdrop(chain)
        ratio = contrast(over(text, behind), behind)
        assert ratio >= MIN_CONTRAST, (page_name, chain, ratio)

        await button.click()
        await page.wait_for_url(re.compile(r"/login$"), timeout=T)
        status = await page.evaluate("fetch('/api/session').then(r => r.status)")
        assert status == 401  # the session really ended, not just a page change
