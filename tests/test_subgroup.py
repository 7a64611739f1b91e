"""A consultation's thematic subgroup does something and breaks nothing: shown on the
matrix, named in the request e-mail and in the regional input, its joint input
counted for each member; no view fails on a list param."""

from __future__ import annotations

import email
import re
import threading
from email import policy

import docx

from rcmflow.default_plugins.web.app import StatusApp, make_server

from .test_web import get
from .wordfiles import country_input


def test_a_subgroup_is_shown_named_and_its_joint_input_counts_for_each(rcmflow, initialised, home, tmp_path,
                                                                       make_engine):
    assert rcmflow("start", "thematic-consultation", "--set", "theme=5", "--set", "deadline=2030-04-20",
                   "--set", "subgroup=MX,GT").exit_code == 0
    assert rcmflow("fire", "theme-5", "open").exit_code == 0
    status = rcmflow("status")
    assert status.exit_code == 0, status.stderr
    rows = {line.split()[0]: line for line in status.stdout.splitlines() if line.strip()[:2] in ("MX", "GT", "HN")}
    assert "subgroup" in rows["MX"] and "subgroup" in rows["GT"] and "subgroup" not in rows["HN"]
    detail = rcmflow("status", "theme-5")
    assert detail.exit_code == 0 and "subgroup=MX, GT" in detail.stdout
    report = rcmflow("report", "--html", str(tmp_path / "status.html"))
    assert report.exit_code == 0 and "theme-5" in (tmp_path / "status.html").read_text()

    requests = {}
    for path in (home / "outbox").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        requests[message["To"].addresses[0].addr_spec] = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert ("Este tema lo lidera un subgrupo temático: México, Guatemala; México forma parte de él"
            in requests["focal@mx.example.org"])
    assert "This theme is led by a thematic subgroup: Mexico, Guatemala.\n" in requests["focal@us.example.org"]

    joint = tmp_path / "subgrupo.docx"
    joint.write_bytes(country_input("Aporte del subgrupo", ["Protección de víctimas"], ["Red regional"], [["a"]]))
    for country, actor in (("MX", "mx-focal"), ("GT", "gt-focal")):
        assert rcmflow("fire", "theme-5", "submit", "-p", country, "--attach", str(joint), actor=actor).exit_code == 0
    assert rcmflow("build", "theme-5", "--template", "regional-input", "--format", "docx").exit_code == 0
    texts = [p.text for p in docx.Document(home / "out" / "theme-5" / "regional-input.en.docx").paragraphs]
    assert "2 of 11 member countries sent input." in " ".join(texts)
    assert "Thematic subgroup, which leads the drafting: Mexico, Guatemala." in texts
    assert "Joint input with Guatemala." in texts and "Joint input with Mexico." in texts
    assert texts.count("Protección de víctimas") == 1 and "Its text is under Guatemala." in texts  # the first of them in the tracks

    httpd = make_server(StatusApp(make_engine()), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{httpd.server_port}"
        for path in ("/", "/instances/theme-5"):
            assert get(base, path)[0] == 200, path
        page = get(base, "/")[2].decode()
        cells = [cell.split("</td>", 1)[0] for cell in page.split("<td ")[1:]]
        marked = [re.search(r'data-participant="(\w+)"', c).group(1) for c in cells
                  if 'data-instance="theme-5"' in c and '<span class="subgroup">' in c]
        assert sorted(set(marked)) == ["GT", "MX"]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
