"""The participant matrix in a normal terminal: at 80 and 100 columns every line fits
and no cell is cut; what is short (states, overdue, reminded) the legend explains.
`--wide` keeps the wide form; `status INSTANCE` gives every reminder with its year,
the CSV the last one and their count."""

from __future__ import annotations

import csv
import io
import re

import pytest

from rcmflow.cli.matrix import abbreviations


@pytest.fixture
def reminded(rcmflow):
    """theme-1 opened, every member reminded a week before its deadline (20 April 2017),
    Mexico's answer in, and the others reminded again the day before."""
    assert rcmflow("--now", "2017-04-03T08:00", "quickstart").exit_code == 0
    assert rcmflow("--now", "2017-04-03T09:00", "fire", "theme-1", "open").exit_code == 0
    assert rcmflow("tick", "--now", "2017-04-14T09:00").exit_code == 0
    assert rcmflow("--now", "2017-04-15T09:00", "fire", "theme-1", "submit", "--participant", "MX", actor="mx-focal").exit_code == 0
    assert rcmflow("tick", "--now", "2017-04-19T09:00").exit_code == 0
    return "theme-1"


def blocks(text: str) -> list[list[str]]:
    """The output's paragraphs: runs of lines between blank lines."""
    found, block = [], []
    for line in text.splitlines():
        if line.strip():
            block.append(line)
        elif block:
            found.append(block)
            block = []
    return found + ([block] if block else [])


def compact_cells(text: str) -> tuple[dict[tuple[str, str], str], str]:
    """(participant, instance) -> the cell as printed, and the legend, from `status`."""
    paragraphs = blocks(text)
    key = {}
    for paragraph in paragraphs:
        for line in paragraph:
            if found := re.match(r"^(\d+)\s+(\S+) \(", line):
                key[found.group(1)] = found.group(2)
    cells = {}
    for paragraph in paragraphs:
        if len(paragraph) > 2 and set(paragraph[1].strip()) == {"─"} and paragraph[0].split()[0].isdigit():
            numbers = paragraph[0].split()
            for row in paragraph[2:]:
                code, *marks = row.split()
                cells.update({(code, key[n]): mark for n, mark in zip(numbers, marks)})
    lines = next(p[p.index(line):] for p in paragraphs for line in p if line.startswith("Legend: "))
    legend = " ".join(" ".join(lines).split())  # where the terminal wrapped it does not matter
    return cells, legend


@pytest.mark.parametrize("width", [80, 100])
def test_the_matrix_fits_and_cuts_nothing(rcmflow, engine, reminded, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    result = rcmflow("status")
    assert result.exit_code == 0, result.stderr
    assert max(len(line.rstrip()) for line in result.stdout.splitlines()) <= width
    assert "…" not in result.stdout

    cells, legend = compact_cells(result.stdout)
    views = [v for v in engine.status() if v.tracks and not engine.is_final(v)]
    short = abbreviations(sorted({t.state for v in views for t in v.tracks.values()}))
    assert len(cells) == sum(len(v.tracks) for v in views) + sum(
        1 for v in views for p in {q for w in views for q in w.tracks} if p not in v.tracks)
    for view in views:
        for participant, track in view.tracks.items():
            expected = short[track.state] + ("!" if track.overdue else "") + ("*" if track.reminded else "")
            assert cells[(participant, view.id)] == expected, (participant, view.id)
            assert f"{short[track.state]} {track.state}" in legend
    assert cells[("BZ", "theme-1")] in ("req*", "req!*") and cells[("MX", "theme-1")] == "sub*"
    assert cells[("SACM", "theme-1")] == "–"
    assert all(mark in legend for mark in ("! overdue", "* reminded", "– not asked", "--wide"))


@pytest.mark.parametrize("width", [80, 100])
def test_by_instance_fits_too(rcmflow, reminded, monkeypatch, width):
    monkeypatch.setenv("COLUMNS", str(width))
    result = rcmflow("status", "--by", "instance")
    assert max(len(line.rstrip()) for line in result.stdout.splitlines()) <= width
    assert "…" not in result.stdout and "Instances by participant" in result.stdout
    assert re.search(r"^ theme-1\s+req!?\*\s", result.stdout, re.M)


def test_wide_keeps_every_state_and_date_in_full(rcmflow, reminded, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = rcmflow("status", "--wide")
    assert "Legend:" not in result.stdout and "…" not in result.stdout
    bz = next(line for line in result.stdout.splitlines() if line.startswith(" BZ Belize"))
    assert bz.split()[2] == "requested" and "· reminded 2017-04-19" in bz and len(bz) > 80
    assert "theme-1" in result.stdout and "due 2017-04-20" in result.stdout


def test_status_of_an_instance_lists_every_reminder_with_its_year(rcmflow, reminded):
    lines = rcmflow("status", reminded).stdout.splitlines()
    # the United States keep no Good Friday: reminded a week before and the day before
    assert "2017-04-14, 2017-04-19" in next(line for line in lines if line.startswith(" US "))
    # Belize does: its week-before reminder waited for a working day, and the day-before one took over
    assert "2017-04-19" in next(line for line in lines if line.startswith(" BZ "))
    assert "2017-04-14" not in next(line for line in lines if line.startswith(" BZ "))
    mexico = next(line for line in lines if line.startswith(" MX "))
    assert "submitted" in mexico and "2017-04-14" in mexico and "2017-04-19" not in mexico
    spanish = rcmflow("--lang", "es", "status", reminded).stdout  # the deadline has passed, on the real clock
    assert "Participantes: 10/11 requested, 1/11 submitted (10 vencidos)" in spanish


def test_the_csv_gives_the_last_reminder_and_the_count(rcmflow, reminded):
    rows = {(r["instance"], r["participant"]): r
            for r in csv.DictReader(io.StringIO(rcmflow("status", "--csv").stdout))}
    assert (rows[("theme-1", "US")]["last_reminded"], rows[("theme-1", "US")]["reminders"]) == ("2017-04-19", "2")
    assert (rows[("theme-1", "BZ")]["last_reminded"], rows[("theme-1", "BZ")]["reminders"]) == ("2017-04-19", "1")
    assert (rows[("theme-1", "MX")]["last_reminded"], rows[("theme-1", "MX")]["reminders"]) == ("2017-04-14", "1")
    assert (rows[("theme-2", "BZ")]["last_reminded"], rows[("theme-2", "BZ")]["reminders"]) == ("", "0")


@pytest.mark.no_database
def test_state_abbreviations_are_short_and_distinct():
    states = ["requested", "reviewed", "revising", "no_comments", "no_objection", "no_items", "submitted",
              "returned", "agreed", "agreed_draft", "agenda_agreed", "accepted"]
    short = abbreviations(states)
    assert len(set(short.values())) == len(states)
    assert all(len(s) <= 4 for s in short.values())
    assert short["requested"] == "req" and short["no_comments"] == "nc"
