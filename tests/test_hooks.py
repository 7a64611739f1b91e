"""Every hook is documented in the plugin guide and exercised here, and a third-party
package, installed through an entry point, does with the public API what built-ins do."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from rcmflow import Engine
from rcmflow.plugins import hook_reference, load_plugins

from .conftest import REPO

GUIDE = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
HOOKS = sorted(name for name in dir(load_plugins(REPO, entry_points=False).pm.hook) if not name.startswith("_"))

NOTE = """\
workflow: note
title: {en: A note, es: Una nota}
params:
  kind: {type: str, required: true}
  due: {type: date}
initial: open
states:
  - open
  - {name: done, final: true}
transitions:
  - {trigger: attach, source: open, dest: open}
  - trigger: finish
    source: open
    dest: done
    guards: [others_of_my_kind]
    actions: [receipt]
"""

SUMMARY = "# {{ definition.title }} {{ instance.id }}\n\nFiles sent: {{ files_sent }}\n"

PACKAGE = '''
import click
import rcmflow


def others_of_my_kind(ctx, args):
    """Another instance of the same kind has been started."""
    mine = ctx.instances("note", kind=ctx.instance.params["kind"])
    others = [v.id for v in mine if v.id != ctx.instance.id]
    return None if others else f"no other {ctx.instance.params['kind']} note is started"


def receipt(ctx, args):
    """Acknowledge the files in the history, once however often it is retried."""
    if ctx.ledger.seen(ctx.idempotency_key):
        return
    files = ctx.attachments()
    seq = ctx.record("receipt", note=f"{len(files)} file(s) received",
                     data={"files": [f.filename for f in files], "sizes": [f.size for f in files]})
    ctx.ledger.mark(ctx.idempotency_key, event_seq=seq)


@rcmflow.hookimpl
def register_guards(register):
    register("others_of_my_kind", others_of_my_kind)


@rcmflow.hookimpl
def register_actions(register):
    register("receipt", receipt)


@rcmflow.hookimpl
def document_context(context, instance):
    context["files_sent"] = sum(len(files) for files in context["attachments"].values()) + len(
        context["instance"]["attachments"])


@rcmflow.hookimpl
def register_commands(cli, pass_engine):
    @cli.command()
    @click.argument("instance")
    @pass_engine
    def receipts(engine, instance):
        """The receipts recorded on INSTANCE."""
        for event in engine.history(instance):
            if event.trigger == "receipt":
                click.echo(f"{event.seq} {event.note}")
'''


@pytest.fixture
def third_party(home: Path, tmp_path: Path, monkeypatch):
    """`rcmflow-notes` installed in a site folder, found through its entry point."""
    site = tmp_path / "site"
    (site / "rcmflow_notes").mkdir(parents=True)
    (site / "rcmflow_notes" / "__init__.py").write_text(PACKAGE)
    dist = site / "rcmflow_notes-0.3.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: rcmflow-notes\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text("[rcmflow]\nnotes = rcmflow_notes\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("RCMFLOW_ENTRY_POINTS", "1")
    (home / "workflows" / "note.yaml").write_text(NOTE)
    (home / "workflows" / "templates" / "note-summary.md.j2").write_text(SUMMARY)
    yield
    sys.modules.pop("rcmflow_notes", None)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_and_tested(hook):
    assert f"### `{hook}(" in GUIDE, f"docs/plugins.md does not document {hook}"
    assert f"test_hook_{hook}" in globals(), f"no test_hook_{hook} exercises {hook}"


def test_the_guide_shows_the_hooks_as_the_specs_say():
    generated = GUIDE.split("<!-- hooks -->\n", 1)[1].split("<!-- /hooks -->", 1)[0]
    assert generated == hook_reference(), "docs/plugins.md is stale: paste the output of 'rcmflow plugins hooks'"


def test_hook_register_guards(third_party, rcmflow, tmp_path):
    """GuardContext.instances: the guard sees other instances, typed, by params."""
    assert rcmflow("init").exit_code == 0
    rcmflow("start", "note", "--id", "n-1", "--set", "kind=memo")
    blocked = rcmflow("fire", "n-1", "finish")
    assert blocked.exit_code == 3 and "no other memo note is started" in blocked.stderr
    rcmflow("start", "note", "--id", "n-2", "--set", "kind=letter")
    assert rcmflow("fire", "n-1", "finish").exit_code == 3  # a letter is not a memo
    rcmflow("start", "note", "--id", "n-3", "--set", "kind=memo")
    assert rcmflow("fire", "n-1", "finish").exit_code == 0


def test_hook_register_actions(third_party, rcmflow, db_url, home, tmp_path):
    """ctx.attachments, ctx.record and ctx.ledger: the receipt names the files, once."""
    assert rcmflow("init").exit_code == 0
    for instance in ("n-1", "n-2"):
        rcmflow("start", "note", "--id", instance, "--set", "kind=memo")
    (tmp_path / "a.txt").write_text("first")
    (tmp_path / "b.txt").write_text("second, longer")
    assert rcmflow("fire", "n-1", "attach", "--attach", str(tmp_path / "a.txt"),
                   "--attach", str(tmp_path / "b.txt")).exit_code == 0
    assert rcmflow("fire", "n-1", "finish").exit_code == 0
    engine = Engine(home, db_url, "ts-officer")  # with the installed entry points
    # Run the action again as a retry would (same idempotency key): the ledger knows it.
    item = next(i for i in engine.dispatcher.items() if i["action"] == "receipt")
    finish = next(e for e in engine.history("n-1") if e.trigger == "finish")
    ctx = engine.action_context(engine.get("n-1"), finish, engine.definition("note"), f"outbox-{item['id']}",
                                "receipt")
    engine.plugins.registry.actions["receipt"].function(ctx, None)
    receipts = [e for e in engine.history("n-1") if e.trigger == "receipt"]
    assert len(receipts) == 1
    assert receipts[0].note == "2 file(s) received"
    assert receipts[0].data == {"files": ["a.txt", "b.txt"], "sizes": [5, 14]}
    assert [(a.filename, a.content) for a in engine.attachments("n-1")] == [("a.txt", b"first"),
                                                                            ("b.txt", b"second, longer")]
    engine.close()


def test_hook_register_commands(third_party, rcmflow):
    """pass_engine hands the command the engine of the user's home and database."""
    assert rcmflow("init").exit_code == 0
    for instance in ("n-1", "n-2"):
        rcmflow("start", "note", "--id", instance, "--set", "kind=memo")
    rcmflow("fire", "n-1", "finish")
    shown = rcmflow("receipts", "n-1")
    assert shown.exit_code == 0 and shown.stdout.strip().endswith("0 file(s) received")
    listed = {p["name"]: p for p in json.loads(rcmflow("plugins", "list", "--json").stdout)}
    assert listed["notes"]["commands"] == ["receipts"]
    assert listed["notes"]["source"] == "entry point (rcmflow-notes 0.3)"


def test_hook_document_context(third_party, rcmflow, home, tmp_path):
    assert rcmflow("init").exit_code == 0
    rcmflow("start", "note", "--id", "n-1", "--set", "kind=memo")
    (tmp_path / "a.txt").write_text("first")
    rcmflow("fire", "n-1", "attach", "--attach", str(tmp_path / "a.txt"))
    built = rcmflow("build", "n-1", "--template", "note-summary", "--format", "html")
    assert built.exit_code == 0, built.stderr
    html = (home / "out" / "n-1" / "note-summary.en.html").read_text()
    assert "Files sent: 1" in html


def test_hook_check_project(home, rcmflow):
    """notify's: a message template without the language of someone who gets it is
    reported, with the file to add and who gets which language instead."""
    clean = rcmflow("workflows", "validate")
    assert clean.exit_code == 0 and "version (workflows/templates" not in clean.stdout
    (home / "workflows" / "templates" / "agenda-call.fr.txt.j2").unlink()
    result = rcmflow("workflows", "validate")
    assert result.exit_code == 0
    [warning] = [line for line in result.stdout.splitlines() if line.startswith("warning: ")]
    assert warning.startswith("warning: workflows/troika-meeting.yaml:")
    assert warning.endswith(": template 'agenda-call' has no fr version (workflows/templates/agenda-call.fr.txt.j2): "
                            "ca-focal-fr gets the English one, which says so")


def test_hook_on_event(home, make_engine):
    (home / "plugins" / "listener.py").write_text(textwrap.dedent("""\
        import rcmflow
        HEARD = []

        @rcmflow.hookimpl
        def on_event(event, instance):
            HEARD.append((event.trigger, event.participant, instance.state))
        """))
    (home / "workflows" / "note.yaml").write_text(NOTE.replace("    guards: [others_of_my_kind]\n", "")
                                                  .replace("    actions: [receipt]\n", ""))
    engine = make_engine()
    engine.init()
    engine.start("note", "n-1", params={"kind": "memo"})
    engine.fire("n-1", "finish")
    listener = next(p for name, p in engine.plugins.pm.list_name_plugin() if name == "plugins/listener.py")
    assert listener.HEARD == [("start", None, "open"), ("finish", None, "done")]


def test_a_registry_hook_gets_only_the_arguments_it_declares(home):
    """Hooks grow by new arguments: an implementation written for fewer still works."""
    (home / "plugins" / "old.py").write_text(textwrap.dedent("""\
        import click, rcmflow

        @rcmflow.hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello")
        """))
    from click.testing import CliRunner

    from rcmflow.cli import cli

    result = CliRunner().invoke(cli, ["--home", str(home), "hello"])
    assert result.exit_code == 0 and result.output == "hello\n"


def test_hook_on_tick(home, rcmflow):
    """A plugin's on_tick runs with every tick, before its timeouts, at the tick's time."""
    (home / "plugins" / "clock.py").write_text(textwrap.dedent("""\
        from pathlib import Path
        import rcmflow

        @rcmflow.hookimpl
        def on_tick(engine, now):
            (Path(__file__).parent / "ticks.txt").open("a").write(now.isoformat() + "\\n")
        """))
    assert rcmflow("init").exit_code == 0
    assert rcmflow("tick", "--now", "2030-01-02T03:04", actor=None).exit_code == 0
    assert (home / "plugins" / "ticks.txt").read_text().startswith("2030-01-02T")


def test_hook_status_notes(home, rcmflow):
    """The lines a plugin returns are shown under the status."""
    (home / "plugins" / "notes.py").write_text(textwrap.dedent("""\
        import rcmflow

        @rcmflow.hookimpl
        def status_notes(engine, instances):
            return [f"{len(instances)} of {len(engine.status())} instances shown, as the notes plugin counts them"]
        """))
    assert rcmflow("init").exit_code == 0
    rcmflow("start", "thematic-consultation", "--set", "theme=2", "--set", "deadline=2030-04-20")
    rcmflow("start", "thematic-consultation", "--set", "theme=3", "--set", "deadline=2030-04-20")
    assert "2 of 2 instances shown, as the notes plugin counts them" in rcmflow("status").stdout
    assert "1 of 2 instances shown, as the notes plugin counts them" in rcmflow("status", "theme-3").stdout
