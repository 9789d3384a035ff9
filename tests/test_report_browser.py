"""The HTML report in a real browser (headless Chromium at 1,280x800): the answer is on the first screen."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from parity import cli

CHROMIUM = Path("/usr/bin/chromium")
SCREEN = (1280, 800)
# Appended to a copy of the page: measures the layout once everything (images included) has loaded.
PROBE = """<script>
window.addEventListener("load", () => {
  const box = (el) => el ? el.getBoundingClientRect().toJSON() : null;
  const images = [...document.images].map((img) => img.complete && img.naturalWidth > 0);
  const out = {verdict: box(document.getElementById("verdict")), table: box(document.getElementById("summary")),
               images: images, width: document.documentElement.scrollWidth};
  const pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script></body>"""

# A table wider than any screen (like the first-divergence table's ten long column names): the page's style must
# scroll it inside its own box rather than widen the page.
WIDE_TABLE = "<table><tr>" + "".join(f"<th>divergence_column_{i}</th>" for i in range(30)) + "</tr></table>"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="headless Chromium not installed "
                                "(apt-get install -y chromium; .ci/run does this where apt is available)")


# Tests of the module fixture below share one xdist group: it is computed once, on one worker.
REPORT_BROWSER = pytest.mark.xdist_group("report_browser")


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    assert cli.main(["report", "--experiment", "two_layer_net", "--experiment", "init_study", "--epochs", "1",
                     "--dtype", "float64", "--out", str(out)]) == 0
    page = next(out.glob("*/index.html"))
    probed = out / "probed.html"
    probed.write_text(page.read_text().replace("</body>", WIDE_TABLE + PROBE))
    dom = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          f"--window-size={SCREEN[0]},{SCREEN[1]}", "--virtual-time-budget=10000", "--dump-dom",
                          probed.as_uri()], capture_output=True, text=True, timeout=120)
    match = re.search(r"<pre id=\"probe\">(.*?)</pre>", dom.stdout, re.S)
    assert match, dom.stderr[-2000:]
    return json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@REPORT_BROWSER
def test_verdict_banner_is_on_the_first_screen(layout):
    assert layout["verdict"] and layout["verdict"]["bottom"] <= SCREEN[1]


@REPORT_BROWSER
def test_accuracy_table_is_whole_on_the_first_screen(layout):
    table = layout["table"]
    assert table and table["bottom"] <= SCREEN[1] and table["right"] <= SCREEN[0]
    assert layout["width"] <= SCREEN[0]  # nothing on the page needs a horizontal scroll bar


@REPORT_BROWSER
def test_every_image_loads(layout):
    assert layout["images"] and all(layout["images"])
