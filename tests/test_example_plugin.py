"""The example plugin of docs/plugins.md, loaded the way a user would load it: from the
home's plugins/ folder, and as an installed package's entry point."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap

import pytest

from rcmflow.errors import Blocked
from rcmflow.plugins import hook_reference

from .conftest import REPO

pytestmark = pytest.mark.fixture_workflows  # tests/workflows/, not the roadmap

REVIEW = """\
workflow: review-note
title: A step that needs a reason
initial: open
states:
  - open
  - returned
  - {name: closed, final: true}
transitions:
  - trigger: send_back
    source: open
    dest: returned
    guards: [note_given]
    actions: [{feed: "sent back: {{ event.note }}"}]
  - {trigger: close, source: [open, returned], dest: closed, actions: [feed]}
"""


@pytest.fixture(autouse=True)
def example_plugin(home):
    """The example plugin, as docs/plugins.md tells a user to install it: in the home's plugins/."""
    shutil.copy(REPO / "plugins" / "activity_feed.py", home / "plugins" / "activity_feed.py")


def test_the_guide_lists_every_hook_as_the_specs_document_it():
    guide = (REPO / "docs" / "plugins.md").read_text()
    generated = guide.split("<!-- hooks -->\n", 1)[1].split("<!-- /hooks -->", 1)[0]
    assert generated == hook_reference(), "docs/plugins.md is stale: paste the output of 'rcmflow plugins hooks'"
    for hook in ("register_guards", "register_actions", "register_commands", "on_event"):
        assert f"### `{hook}(" in generated


def test_the_example_plugin_from_the_plugins_folder(home, engine, rcmflow):
    (home / "workflows" / "review-note.yaml").write_text(REVIEW)
    engine.start("review-note", "note-1")
    with pytest.raises(Blocked, match="say why with --note TEXT"):
        engine.fire("note-1", "send_back")
    engine.fire("note-1", "send_back", note="figures missing")
    engine.tick()  # a second run of the queued actions changes nothing
    engine.fire("note-1", "close")
    feed = (home / "out" / "activity.log").read_text().splitlines()
    assert len(feed) == 2
    assert "note-1: sent back: figures missing (ts-officer)" in feed[0]
    assert "note-1: close: returned -> closed (ts-officer)" in feed[1]
    shown = rcmflow("feed", "--lines", "1")
    assert shown.stdout.strip().endswith("note-1: close: returned -> closed (ts-officer)")
    listed = {p["name"]: p for p in json.loads(rcmflow("plugins", "list", "--json").stdout)}
    mine = listed["plugins/activity_feed.py"]
    assert (mine["guards"], mine["actions"], mine["commands"]) == (["note_given"], ["feed"], ["feed"])


def test_the_feed_action_run_again_writes_nothing_more(home, engine):
    # What a dispatcher does when it takes over an action whose claim expired.
    (home / "workflows" / "review-note.yaml").write_text(REVIEW)
    engine.start("review-note", "note-1")
    engine.fire("note-1", "close")
    [event] = [e for e in engine.history("note-1") if e.trigger == "close"]
    ctx = engine.action_context(engine.get("note-1"), event, engine.definition("review-note"), "outbox-1", "feed")
    assert ctx.ledger.seen("outbox-1") and ctx.ledger.get("outbox-1")["line"] == "close: open -> closed"
    engine.plugins.registry.actions["feed"].function(ctx, None)
    assert len((home / "out" / "activity.log").read_text().splitlines()) == 1


def test_the_example_plugin_as_an_installed_package(home, tmp_path, monkeypatch, rcmflow):
    (home / "plugins" / "activity_feed.py").unlink()  # only the installed copy now
    site = tmp_path / "site"
    package = site / "rcmflow_activity_feed"
    package.mkdir(parents=True)
    shutil.copy(REPO / "plugins" / "activity_feed.py", package / "__init__.py")
    dist = site / "rcmflow_activity_feed-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rcmflow-activity-feed\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent("""\
        [rcmflow]
        activity_feed = rcmflow_activity_feed
        """))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("RCMFLOW_ENTRY_POINTS", "1")
    try:
        listed = {p["name"]: p for p in json.loads(rcmflow("plugins", "list", "--json").stdout)}
        assert listed["activity_feed"]["source"] == "entry point (rcmflow-activity-feed 1.0)"
        assert listed["activity_feed"]["actions"] == ["feed"]
        (home / "workflows" / "review-note.yaml").write_text(REVIEW)
        assert rcmflow("init").exit_code == 0
        assert rcmflow("start", "review-note", "--id", "note-2").exit_code == 0
        assert rcmflow("fire", "note-2", "close").exit_code == 0
        assert "note-2: close: open -> closed" in (home / "out" / "activity.log").read_text()
    finally:
        sys.modules.pop("rcmflow_activity_feed", None)
