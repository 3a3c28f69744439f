"""Refresh the README's screenshots from a built site: `make screenshots` (after `make run`).

Uses the same headless Chromium helper as the browser tests; the pages are taken as a person sees them
(1280 px wide, the first 1500 px)."""

from __future__ import annotations

import sys
from pathlib import Path

from browser import Chromium

# (file in docs/screenshots, organisation, page inside <org>/<latest cycle>/; None = the index)
SHOTS = (
    ("index.png", None, None),
    ("calibration_pack.png", "zeeland-demo", "calibration/economie.html"),
    ("calibration_vo_salary_decision.png", "vo-demo", "calibration/*.html"),
    ("norming.png", "zeeland-demo", "norming.html"),
    ("fairness.png", "zeeland-demo", "fairness.html"),
    ("budget.png", "zeeland-demo", "budget.html"),
    ("process.png", "vo-demo", "process.html"),
    ("data_quality.png", "zeeland-demo", "data_quality.html"),
    ("calibration_impact.png", "zeeland-demo", "norming.html#impact"),
)


def main(site: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    browser = Chromium.start()
    try:
        for name, organization, pattern in SHOTS:
            if organization is None:
                page = site / "organisatie" / "index.html"
            else:
                glob, _, fragment = (pattern or "").partition("#")
                # The page is in one of the two sites (organisatie/ or management/); a department's pack,
                # not the calibration overview (calibration/index.html).
                found = []
                # The calibration pack as the meeting gets it: from the packs folder beside the site (<home>/packs,
                # written by the publish step; sample data only), not the management site's department page.
                packs = site.parent / "packs" / organization
                if name == "calibration_pack.png" and packs.is_dir():
                    cycle = max(p for p in packs.iterdir() if p.is_dir())
                    found += sorted(p for p in cycle.glob(glob) if p.name != "index.html")
                for audience in ("organisatie", "management"):
                    if (site / audience / organization).is_dir():
                        cycle = max(p for p in (site / audience / organization).iterdir() if p.is_dir())
                        found += sorted(p for p in cycle.glob(glob) if p.name != "index.html")
                if not found:
                    print(f"screenshots: no {pattern} for {organization}; skipped", file=sys.stderr)
                    continue
                page = found[0]
            url = page.resolve().as_uri() + (f"#{fragment}" if organization and fragment else "")
            browser.screenshot(url, out / name, height=1500, full_page=False)
            print(f"screenshots: {out / name}")
    finally:
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "site"), Path("docs/screenshots")))
