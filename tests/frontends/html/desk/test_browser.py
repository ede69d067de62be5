"""The arrears dashboard in headless Chromium at desktop size: the three charts are drawn.

Reuses the collector tests' served demo office (uvicorn on its own SQLite file) and browser.
Screenshots go to ``$REGIE_SCREENSHOTS`` when set (else a temporary folder).
"""

from __future__ import annotations

from urllib.parse import quote

from tests.frontends.html.browser import Browser
from tests.frontends.html.test_browser import Served, chromium, fits, served

__all__ = ["chromium", "served"]  # the fixtures this module uses

CHARTS = ("g-tranches", "g-communes", "g-mois")


def test_the_dashboard_draws_its_three_charts_at_desktop_size(
    chromium: Browser, served: Served
) -> None:
    tab = chromium.tab(1280, 800)
    tab.open(served.url + "/connexion?next=" + quote("/office/impayes", safe=""))
    tab.js("document.querySelector('details').open = true")  # the office staff's form
    tab.type("#o-user", "crouquette")
    tab.type("#o-password", "demo-bureau-2026")
    tab.tap("#o-password ~ button")
    assert tab.url.endswith("/office/impayes"), tab.url
    assert "Impayés en un coup d’œil" in tab.text
    fits(tab)
    tab.screenshot(served.screenshots / "1280x800-office-arrears.png", full_page=True)
    shot = served.screenshots / "1280x800-office-arrears.png"
    assert shot.stat().st_size > 10_000
    for chart in CHARTS:
        box = tab.box(f"#{chart}")
        assert box["right"] - box["x"] > 300 and box["bottom"] - box["y"] > 60, (chart, box)
        assert box["right"] <= 1280, (chart, box)
        # The bars are drawn: the widest one is on screen, and it is what a click there would hit.
        hit = tab.js(
            f"""(() => {{
              const bars = [...document.querySelectorAll('#{chart} rect')]
                .filter(r => r.getBBox().width > 2 && r.getBBox().height > 2);
              if (!bars.length) return 'no bar';
              const bar = bars.reduce((a, b) =>
                a.getBBox().width * a.getBBox().height >= b.getBBox().width * b.getBBox().height
                  ? a : b);
              bar.scrollIntoView({{block: 'center'}});
              const r = bar.getBoundingClientRect();
              const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
              return at === bar ? 'drawn' : 'hidden';
            }})()"""
        )
        assert hit == "drawn", chart
