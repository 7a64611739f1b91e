"""The hooks a plugin can implement. Each docstring here is the plugin documentation.

A plugin is a module (a file in the home's `plugins/` folder, or a package that
declares an entry point in the group `rcmflow`) with functions decorated by
`rcmflow.hookimpl`. Implement only the hooks you need, and only the arguments you
need: hooks grow by new arguments, never by renames.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("rcmflow")


@hookspec
def register_guards(register):
    """Add guards that workflow definitions can name in a transition's `guards:`.

    Call `register(name, function, check=None)` once per guard. The engine calls
    `function(ctx, args)` while deciding whether a transition may fire, where
    `args` is what the YAML wrote after the name (templates already rendered) and
    `ctx` is a `rcmflow.context.GuardContext` (the instance, its tracks, the
    participant, the actor, the time). Return `None` to allow the transition, or a
    sentence that says in words what it is waiting for ("waiting for NI, BZ: 9 of 11
    tracks in submitted|accepted"); that sentence is what the secretariat sees.

    A guard decides only: it must not write anything or send anything.
    `check(args)`, if given, is called when definitions are validated and returns
    an error message for bad arguments, or `None`. Two plugins that register the
    same name stop rcmflow at start-up with an error naming both.
    """


@hookspec
def register_actions(register):
    """Add actions that definitions can name in `actions:`, `on_enter:` or `on_exit:`.

    Call `register(name, function, check=None, in_transaction=False, owns=())`. By default an
    action is an effect (an e-mail, a document): it is written to the outbox in the
    same database transaction as the transition and `function(ctx, args)` runs after
    the commit, with `ctx` a `rcmflow.context.ActionContext`. If it raises,
    the action stays in the outbox with its error and `rcmflow tick` retries it, so
    write actions that can safely run twice: record what is done in `ctx.ledger`
    under `ctx.idempotency_key` and skip it when `ctx.ledger.seen(key)`.

    With `in_transaction=True` the function instead runs inside the transition's
    transaction and may only change `ctx.data` (the instance's data) and
    `ctx.track_data` (the moving track's); it must not perform any effect. It may
    refuse the transition by raising `rcmflow.errors.BadInput` with a one-line
    message: nothing is written and the user sees that line. `check(args)` works
    as for guards. `owns` names the data keys it writes (or is a function of its
    args that gives them): a user cannot give those keys with `--set` on a workflow
    that uses the action, so what the action reads back is always what it wrote
    (`plugins/amendments.py` owns `amendments`).
    """


@hookspec
def register_commands(cli, pass_engine):
    """Add commands to the `rcmflow` command line.

    `cli` is the top-level click group: decorate new commands with
    `@cli.command()`. `pass_engine` is a decorator for such a command: the command
    then receives the `rcmflow.Engine` for the home, database and actor the user
    chose as its first argument (`rcmflow.cli.get_engine()` does the same from
    inside a command, for older plugins). `rcmflow.output` has `emit_json` and
    `console` for printing the way the built-in commands do. A command whose name is
    taken stops rcmflow at start-up with an error naming the plugin.
    """


@hookspec
def check_project(home, definitions, members, report):
    """Look for what a definition's own check cannot see, when `rcmflow workflows
    validate` runs: the files a definition names in the home, say.

    `home` is the project folder (a `pathlib.Path`), `definitions` the valid
    `rcmflow.model.definition.Definition`s, `members` the `rcmflow.model.members.Members`.
    Call `report(message)` once per finding, one line that names the file and says
    what to add (notify reports a message template missing in a language someone
    reads). Findings are warnings: the command prints them and its exit status stays
    that of the definitions' own problems, since rcmflow still works around them.
    """


@hookspec
def on_event(event, instance, engine):
    """Called after a transition has been committed, once per new history event.

    `event` is a `rcmflow.context.EventView`, `instance` the
    `rcmflow.context.InstanceView` after the transition, `engine` the
    `rcmflow.Engine`. The transition is already final: an exception here is
    logged and does not undo it, and nothing retries it. For work that must happen
    reliably, register an action instead.
    """


@hookspec
def document_context(context, instance, definition):
    """Add to the template context of a document being built (`build_document`, `rcmflow build`).

    `context` is the dict the Jinja2 template will see (`instance`, `definition`,
    `members`, `tracks`, `countries`, `inputs`, `now`, …): add keys to it or change
    them in place; the return value is ignored. `instance` is the
    `rcmflow.context.InstanceView` the document is built from, `definition` its
    `rcmflow.model.definition.Definition`. Called in plugin order; it must only
    compute (no writes, no e-mail), since documents are rebuilt at will. A build
    calls it once per edition: `context["language"]` is that edition's language
    (es, en), and the names in `context` are in it.
    """


@hookspec
def on_tick(engine, now):
    """Called by `rcmflow tick` (`Engine.tick`) before the timeouts and reminders due at `now`.

    For work that time or the outside world brings (the mail plugin reads the mailbox
    here, so that a reply that came before a deadline counts before the deadline's
    timeout). `engine` is the `rcmflow.Engine`. An exception stops the tick: catch
    what is not fatal and tell it with `engine.on_warning(line)`.
    """


@hookspec
def status_notes(engine, instances):
    """Lines to show under `rcmflow status` and on the status page: what a plugin knows
    about the tracks shown.

    `instances` are the `rcmflow.context.InstanceView`s being shown. Return a list of
    one-line strings (or nothing), e.g. the mail plugin's "MX on theme-3: reply
    received, awaiting confirmation (rcmflow mail show 4)". It only reads: no writes,
    no e-mail.
    """
