"""Amendments are resolved, and the draft is signed off by both the TS and the PPT:
each amendment gets a disposition (taken in, merged, not taken in, with a reason),
shown by `rcmflow amendments` and in the draft with the restricted terms; a step that
several roles must approve waits, saying who has not approved the text as it stands."""

from __future__ import annotations

import docx
import pytest

from .conftest import one_line

MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]


@pytest.fixture
def amended(initialised, rcmflow):
    """declaration-2017 collecting amendments: Guatemala proposed one, the United
    States one with terms to keep out, the others have no comments."""
    assert rcmflow("start", "declaration-adoption", "--set", "year=2017", "--set", "meeting=2017-04-24").exit_code == 0
    assert rcmflow("fire", "declaration-2017", "share_base_text", "--set", "text=1. Base text.").exit_code == 0
    assert rcmflow("fire", "declaration-2017", "propose_amendment", "-p", "GT", "--set", "item=1", "--set", "line=3",
                   "--set", 'change=say "victims of crimes"', actor="gt-focal").exit_code == 0
    assert rcmflow("fire", "declaration-2017", "propose_amendment", "-p", "US", "--set", "change=no slavery terms",
                   "--set", "exclude_terms=slavery; modern slavery", actor="us-focal").exit_code == 0
    for country in MEMBERS:
        if country not in ("GT", "US"):
            assert rcmflow("fire", "declaration-2017", "no_comments", "-p", country).exit_code == 0
    return "declaration-2017"


def test_every_amendment_gets_a_disposition_before_the_agreed_draft(amended, rcmflow, snapshot, home):
    blocked = rcmflow("fire", amended, "agree_draft")
    assert blocked.exit_code == 3
    assert "2 amendments have no disposition yet: GT 1, US 1" in one_line(blocked)
    before = snapshot()
    for values, message in [
        (["amendment=GT 9", "disposition=taken_in"], "--set amendment='GT 9' names no amendment; the amendments are GT 1, US 1"),
        (["amendment=GT 1", "disposition=maybe"], "--set disposition='maybe': give one of taken_in, merged, not_taken_in"),
        (["amendment=US 1", "disposition=not_taken_in"], "an amendment not taken in needs its reason: add --set reason=TEXT"),
    ]:
        refused = rcmflow("fire", amended, "resolve_amendment", *[a for v in values for a in ("--set", v)])
        assert refused.exit_code == 1 and one_line(refused).endswith(message), refused.stderr
    assert snapshot() == before
    assert rcmflow("fire", amended, "resolve_amendment", "--set", "amendment=gt 1",
                   "--set", "disposition=taken_in").exit_code == 0
    assert rcmflow("fire", amended, "resolve_amendment", "--set", "amendment=US 1", "--set", "disposition=merged",
                   "--set", "reason=into item 6, without the terms").exit_code == 0
    listed = rcmflow("amendments", amended).stdout.splitlines()
    assert listed == ['GT 1  item 1, line 3: say "victims of crimes"  -> taken in',
                      "US 1  general: no slavery terms  [terms kept out: slavery (en: slavery, contemporary slavery; "
                      "es: esclavitud, esclavitud contemporánea; fr: esclavage, esclavage contemporain); "
                      "modern slavery (es: esclavitud moderna; fr: esclavage moderne)]  "
                      "-> merged: into item 6, without the terms"]
    assert rcmflow("fire", amended, "agree_draft").exit_code == 0
    assert rcmflow("build", amended, "--template", "declaration-draft", "--format", "docx").exit_code == 0
    document = docx.Document(home / "out" / amended / "declaration-draft.en.docx")
    rows = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    assert ["No.", "Item", "Line", "Change", "Reason", "Disposition"] in rows
    assert ["US 1", "—", "—", "no slavery terms", "—", "merged: into item 6, without the terms"] in rows
    texts = [p.text for p in document.paragraphs]
    assert "United States asks that these terms not be used: slavery; modern slavery" in texts


def test_the_draft_circulates_once_both_the_ts_and_the_ppt_signed_it_off(amended, rcmflow, snapshot):
    for amendment in ("GT 1", "US 1"):
        rcmflow("fire", amended, "resolve_amendment", "--set", f"amendment={amendment}", "--set", "disposition=taken_in")
    assert rcmflow("fire", amended, "agree_draft").exit_code == 0
    assert rcmflow("fire", amended, "draft_declaration", actor="sv-ppt").exit_code == 0
    assert rcmflow("fire", amended, "revise_text", "--set", "text=1. The draft.").exit_code == 0
    before = snapshot()
    blocked = rcmflow("fire", amended, "circulate_declaration")
    assert blocked.exit_code == 3 and one_line(blocked).endswith("waiting for the approval of secretariat and ppt")
    assert snapshot() == before
    assert rcmflow("fire", amended, "sign_off").exit_code == 0
    blocked = rcmflow("fire", amended, "circulate_declaration")
    assert one_line(blocked).endswith("waiting for the approval of ppt; secretariat approved by ts-officer")
    assert rcmflow("fire", amended, "sign_off", actor="sv-ppt").exit_code == 0
    # a new text asks for both approvals again
    assert rcmflow("fire", amended, "revise_text", "--set", "text=1. The draft, revised.").exit_code == 0
    blocked = rcmflow("fire", amended, "circulate_declaration")
    assert one_line(blocked).endswith("waiting for the approval of secretariat and ppt "
                                      "(secretariat, ppt approved an earlier text)")
    assert rcmflow("fire", amended, "sign_off").exit_code == 0
    assert rcmflow("fire", amended, "sign_off", actor="sv-ppt").exit_code == 0
    assert rcmflow("fire", amended, "circulate_declaration").exit_code == 0
