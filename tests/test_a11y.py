"""Accessibility: axe-core, run in the headless Chromium of the web tests, finds no
critical and no serious violation on the status page, an instance page, the e-mailed
report and a built HTML document, in English and in Spanish; the page refreshes only
when the reader asks, and stops when asked; on paper the matrix fits A4 landscape.

axe-core (MPL-2.0, from the npm registry) is kept in tests/a11y/. The page a user
gets (fetched from the running server, or the file written) is given to Chromium as
a file with axe and a small runner added at its end; the runner writes axe's findings
into the page, which Chromium prints once its scripts are done.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.test_web import CHROMIUM, DOM, TOKEN, get, needs_chromium, played, server  # noqa: F401 (fixtures)

AXE = Path(__file__).resolve().parent / "a11y" / "axe.min.js"
RUNNER = """
axe.run(document, {resultTypes: ["violations"]}).then(function (result) {
  var out = document.createElement("pre");
  out.id = "axe-findings";
  out.textContent = JSON.stringify(result.violations.map(function (v) {
    return {id: v.id, impact: v.impact, help: v.help,
            where: v.nodes.slice(0, 3).map(function (n) { return n.target.join(" ") + ": " + n.failureSummary; })};
  }));
  document.body.appendChild(out);
});
"""


def axe_findings(tmp_path: Path, page: str) -> list[dict]:
    """What axe-core finds in `page` (HTML), as Chromium renders it."""
    checked = tmp_path / f"checked-{len(list(tmp_path.glob('checked-*')))}.html"
    checked.write_text(page.replace("</body>", f"<script>{AXE.read_text()}</script><script>{RUNNER}</script></body>"),
                       encoding="utf-8")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp_path / 'axe-profile'}",
         "--virtual-time-budget=60000", "--dump-dom", checked.as_uri()],
        capture_output=True, text=True, timeout=180)
    found = re.search(r'<pre id="axe-findings">(.*?)</pre>', result.stdout, re.S)
    assert found, f"axe did not finish: {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def grave(findings: list[dict]) -> list[str]:
    return [f"{f['impact']} {f['id']}: {f['help']} at {f['where']}" for f in findings
            if f["impact"] in ("critical", "serious")]


def page_of(base: str, path: str, lang: str) -> str:
    status, _headers, body = get(base, f"{path}?token={TOKEN}&lang={lang}")
    assert status == 200
    return body.decode("utf-8")


@needs_chromium
def test_axe_finds_the_checker_works(tmp_path):
    """The check can fail: a picture without words and grey on white are found."""
    page = "<!DOCTYPE html><html lang='en'><body><main><img src='x.png'><p style='color:#ccc'>low</p></main></body></html>"
    assert {f["id"] for f in axe_findings(tmp_path, page)} >= {"image-alt", "color-contrast"}


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_pages_have_no_grave_violation(server, tmp_path, lang):
    base, _engine = server
    for path in ("/", "/instances/theme-4"):
        page = page_of(base, path, lang)
        assert f'<html lang="{lang}">' in page
        assert grave(axe_findings(tmp_path, page)) == [], path


@needs_chromium
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_report_has_no_grave_violation(played, rcmflow, tmp_path, lang):
    target = tmp_path / f"status-{lang}.html"
    assert rcmflow("--lang", lang, "report", "--html", str(target)).exit_code == 0
    page = target.read_text(encoding="utf-8")
    assert f'<html lang="{lang}">' in page
    assert grave(axe_findings(tmp_path, page)) == []


@needs_chromium
def test_a_built_document_has_no_grave_violation(played, home, tmp_path):
    built = sorted((home / "out").glob("*/*.html"))
    documents = [p for p in built if p.name != "regional-input-theme-4.html"]  # that one is the web test's stub
    assert documents, "the demo builds HTML documents"
    assert grave(axe_findings(tmp_path, documents[0].read_text(encoding="utf-8"))) == [], documents[0].name


def test_the_page_refreshes_only_when_the_reader_asks(server):
    base, _engine = server
    quiet = DOM(page_of(base, "/", "en")).root
    assert not quiet.find_all("meta", http_equiv="refresh")
    turn_on = next(a for a in quiet.find_all("a") if a.text == "Refresh every minute")
    assert "refresh=1" in turn_on.attrs["href"] and f"token={TOKEN}" in turn_on.attrs["href"]

    status, _headers, body = get(base, turn_on.attrs["href"])
    refreshing = DOM(body.decode("utf-8")).root
    assert refreshing.find("meta", http_equiv="refresh").attrs["content"] == "60"
    stop = next(a for a in refreshing.find_all("a") if a.text == "Stop refreshing")
    assert "refresh" not in stop.attrs["href"] and f"token={TOKEN}" in stop.attrs["href"]
    # following a link keeps it refreshing, until the reader stops it
    step = next(a for a in refreshing.find_all("a") if a.text == "theme-4")
    assert "refresh=1" in step.attrs["href"]


@needs_chromium
def test_the_matrix_prints_on_a4_landscape(server, tmp_path):
    base, _engine = server
    pdf = tmp_path / "status.pdf"
    page = tmp_path / "print.html"
    page.write_text(page_of(base, "/", "en"), encoding="utf-8")
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    f"--user-data-dir={tmp_path / 'print-profile'}", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, timeout=180, check=True)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf.read_bytes())
    assert boxes, "no page in the PDF"
    for width, height in boxes:  # A4 landscape: 297 x 210 mm, in points
        assert (round(float(width)), round(float(height))) == (842, 595)
