"""`dvc plots show|diff` pages render offline: the template make setup writes inlines vega,
vega-lite and vega-embed (from the npm registry), and DVC is configured to use it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

DVC = str(Path(sys.executable).with_name("dvc"))


def test_the_plot_page_loads_nothing_from_the_internet(tmp_path):
    configured = subprocess.run(
        [DVC, "config", "plots.html_template"], cwd=ROOT, capture_output=True, text=True
    )
    assert configured.returncode == 0, "make setup sets plots.html_template in .dvc/config.local"
    template = Path(configured.stdout.strip())
    page = template.read_text()
    assert "{plot_divs}" in page and "vegaEmbed" in page and "vegaLite" in page
    out = tmp_path / "plots"
    shown = subprocess.run(
        [DVC, "plots", "show", "-o", str(out)], cwd=ROOT, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr[-1000:]
    html = (out / "index.html").read_text()
    assert not re.search(r"<script[^>]+src=[\"']https?://", html), "a script from the internet"
    assert html.count("vegaEmbed('#") >= 3  # the PR curves, confusion, fight ROC, sweep ...
