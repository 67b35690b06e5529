"""Debian's chromium, driven by playwright (nothing downloaded): what a reader's browser shows.

`measure(page)` runs in the page and reports what a person would notice: sideways scrolling,
broken images, text too faint to read, rules that stay light on a dark page."""

from __future__ import annotations

import os
import shutil

import pytest

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium")
        pytest.skip("no chromium here: apt-get install -y chromium fonts-dejavu-core fonts-noto-cjk")
    return found


MEASURE = r"""() => {
  const lum = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const [r, g, b, a] = m[1].split(',').map(Number);
    if (a === 0) return null;
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el && el.nodeType === 1; el = el.parentElement) {
      const l = lum(getComputedStyle(el).backgroundColor); if (l !== null) return l;
    }
    return 1;  // the canvas is white
  };
  const ratio = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  const shown = (el) => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
    return s.display !== 'none' && s.visibility !== 'hidden' && parseFloat(s.opacity) > 0 && r.width > 0 && r.height > 0; };
  const faint = [];
  let minimum = 99;
  for (const el of document.body.querySelectorAll('*')) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !shown(el) || el.closest('[aria-hidden="true"]')) continue;
    const style = getComputedStyle(el);
    if (style.fontSize === '1px' || style.maxHeight === '0px') continue;
    const value = ratio(lum(style.color) ?? 0, background(el));
    minimum = Math.min(minimum, value);
    if (value < 4.5) faint.push(`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 40)}" ${value.toFixed(2)}`);
  }
  const lightRules = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (!shown(el)) continue;
    const style = getComputedStyle(el);
    for (const side of ['Top', 'Bottom', 'Left', 'Right']) {
      if (parseFloat(style[`border${side}Width`]) > 0 && style[`border${side}Style`] !== 'none') {
        const l = lum(style[`border${side}Color`]);
        if (l !== null) lightRules.push({tag: el.tagName.toLowerCase(), side, lum: l, bg: background(el)});
      }
    }
  }
  const broken = [...document.images].filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.src);
  return {scrollWidth: document.documentElement.scrollWidth, width: window.innerWidth,
          minimum, faint, lightRules, broken};
}"""


def box(page, locator) -> dict:
    """Where an element is, scrolled into view as a reader would scroll to it."""
    locator.scroll_into_view_if_needed()
    found = locator.bounding_box()
    assert found is not None, "not displayed"
    return found


def line_measure(page, selector: str) -> float:
    """Characters per line of the longest paragraph matched: its text over its line count."""
    return page.evaluate(
        """(selector) => {
      let best = null;
      for (const p of document.querySelectorAll(selector)) if (!best || p.textContent.length > best.textContent.length) best = p;
      const range = document.createRange(); range.selectNodeContents(best);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      return best.textContent.trim().length / tops.size;
    }""",
        selector,
    )


def axe_source() -> str:
    """axe-core (npm), as .ci/run installs it under .cache/npm, or AXE_CORE_JS."""
    from pathlib import Path

    path = Path(
        os.environ.get("AXE_CORE_JS")
        or Path(__file__).resolve().parent.parent / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
    )
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail("axe-core is not installed: .ci/run installs it with npm into .cache/npm")
        pytest.skip("no axe-core here: npm install --prefix .cache/npm axe-core@4")
    return path.read_text(encoding="utf-8")


AXE_RUN = """async () => {
  const found = await axe.run(document, {resultTypes: ['violations']});
  return found.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
}"""


def axe_violations(page, source: str) -> list[str]:
    """What axe-core finds wrong on the page as it is now, one line per rule broken."""
    page.add_script_tag(content=source)
    return page.evaluate(AXE_RUN)


def vnu_jar() -> str:
    """The W3C Nu validator (npm vnu-jar), as .ci/run installs it under .cache/npm, or VNU_JAR."""
    from pathlib import Path

    default = Path(__file__).resolve().parent.parent / ".cache" / "npm" / "node_modules" / "vnu-jar" / "build" / "dist"
    path = Path(os.environ.get("VNU_JAR") or default / "vnu.jar")
    if not path.is_file() or not shutil.which("java"):
        if os.environ.get("CI"):
            pytest.fail("the Nu validator is not installed: .ci/run installs vnu-jar with npm, and Java")
        pytest.skip("no Nu validator here: npm install --prefix .cache/npm vnu-jar (and a Java runtime)")
    return str(path)
