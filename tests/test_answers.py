"""Silence and lateness shown: a country moved to no_response is "no answer by DATE"
(its own deadline, extended or not) and input sent after the deadline is marked late,
in the matrix (wide and compact), `status INSTANCE`, `--csv` and `--json`, in es too."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.test_matrix import compact_cells


@pytest.fixture
def silent(rcmflow):
    """theme-1 of 2030: Mexico answers in time, Nicaragua gets until 30 April, the others
    stay silent a week past 20 April (no_response), then Guatemala sends its input late."""
    assert rcmflow("init").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "start", "thematic-consultation", "--set", "theme=1",
                   "--set", "deadline=2030-04-20").exit_code == 0
    assert rcmflow("--now", "2030-03-01T09:00", "fire", "theme-1", "open").exit_code == 0
    assert rcmflow("--now", "2030-04-02T09:00", "fire", "theme-1", "submit", "-p", "MX",
                   actor="mx-focal").exit_code == 0
    assert rcmflow("--now", "2030-04-03T09:00", "extend", "theme-1", "-p", "NI", "--to", "2030-04-30",
                   "--note", "elections").exit_code == 0
    assert rcmflow("tick", "--now", "2030-04-29T09:00").exit_code == 0
    assert rcmflow("tick", "--now", "2030-05-09T09:00").exit_code == 0  # Nicaragua's week is over too
    result = rcmflow("--now", "2030-05-10T09:00", "fire", "theme-1", "submit", "-p", "GT", actor="gt-focal")
    assert result.exit_code == 0, result.stderr
    return "theme-1"


def test_status_of_the_instance_says_who_gave_no_answer_and_who_was_late(rcmflow, silent):
    lines = {line.split()[0]: line for line in rcmflow("--now", "2030-05-10T10:00", "status", silent).stdout.splitlines()
             if line.startswith(" ") and line.split() and len(line.split()[0]) == 2}
    assert "no_response" in lines["BZ"] and "no answer by 2030-04-20" in lines["BZ"]
    assert "no answer by 2030-04-30" in lines["NI"]  # its own, extended deadline
    assert "submitted" in lines["GT"] and "late (due 2030-04-20)" in lines["GT"]
    assert "late" not in lines["MX"] and "no answer" not in lines["MX"]
    spanish = rcmflow("--now", "2030-05-10T10:00", "--lang", "es", "status", silent).stdout
    assert "sin respuesta al 2030-04-20" in spanish and "con retraso (plazo 2030-04-20)" in spanish


def test_the_csv_and_the_json_carry_both(rcmflow, silent):
    rows = {r["participant"]: r for r in csv.DictReader(io.StringIO(
        rcmflow("--now", "2030-05-10T10:00", "status", "--csv").stdout))}
    assert (rows["BZ"]["no_answer_by"], rows["BZ"]["late"]) == ("2030-04-20", "")
    assert (rows["NI"]["no_answer_by"], rows["GT"]["late"], rows["MX"]["late"]) == ("2030-04-30", "2030-04-20", "")
    tracks = json.loads(rcmflow("--now", "2030-05-10T10:00", "status", silent, "--json").stdout)["instances"][0]["tracks"]
    assert tracks["BZ"]["no_answer_by"] == "2030-04-20" and tracks["BZ"]["late"] is None
    assert tracks["GT"] == {**tracks["GT"], "state": "submitted", "late": "2030-04-20", "no_answer_by": None}
    assert tracks["MX"]["late"] is None and tracks["MX"]["no_answer_by"] is None


def test_the_matrix_says_so_wide_and_compact(rcmflow, silent, monkeypatch):
    wide = rcmflow("--now", "2030-05-10T10:00", "status", "--wide").stdout
    bz = next(line for line in wide.splitlines() if line.startswith(" BZ Belize"))
    gt = next(line for line in wide.splitlines() if line.startswith(" GT Guatemala"))
    assert "no_response · no answer by 2030-04-20" in bz and "submitted · late (due 2030-04-20)" in gt
    monkeypatch.setenv("COLUMNS", "80")
    result = rcmflow("--now", "2030-05-10T10:00", "status").stdout
    cells, legend = compact_cells(result)
    assert cells[("GT", "theme-1")].startswith("sub~") and cells[("MX", "theme-1")] == "sub"
    assert "~ answered late, after its deadline" in legend
    key = " ".join(result.split())
    assert "no answer by 2030-04-20: BZ, CA, CR, DO, SV, HN, PA, US" in key
    assert "no answer by 2030-04-30: NI" in key


def test_the_status_page_says_so_too(rcmflow, silent, home):
    page = home / "status.html"
    assert rcmflow("--now", "2030-05-10T10:00", "report", "--html", str(page)).exit_code == 0
    text = " ".join(page.read_text(encoding="utf-8").split())
    assert 'data-participant="BZ" data-instance="theme-1" data-state="no_response"' in text
    assert "no answer by Apr 20, 2030" in text and "no answer by Apr 30, 2030" in text
    assert "late (due Apr 20, 2030)" in text
    spanish = home / "estado.html"
    assert rcmflow("--now", "2030-05-10T10:00", "--lang", "es", "report", "--html", str(spanish)).exit_code == 0
    assert "sin respuesta al 20 abr 2030" in " ".join(spanish.read_text(encoding="utf-8").split())
