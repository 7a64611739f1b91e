"""Amendments to a text: recorded on each country's track, listed by a command.

A country proposes an amendment with its track's trigger, for example:

    rcmflow fire declaration-2017 propose_amendment -p GT \
        --set item=1 --set line=3 --set change='say "victims of crimes"' \
        --set reason="migrants can be victims of various crimes"

The `record_amendment` action (in the transition's transaction) appends it to the
track's `amendments` list, so a country may propose many. `rcmflow amendments
INSTANCE` lists them by country.
"""

from __future__ import annotations

import json

import click

import rcmflow
from rcmflow.errors import BadInput

FIELDS = ("item", "line", "change", "reason")


def record_amendment(ctx, args):
    """Append the amendment given with the trigger to the track's amendments."""
    if ctx.track_data is None:
        raise BadInput("record_amendment belongs on a track transition")
    given = ctx.event.data.get("values", {})
    if not given.get("change"):  # refusing here rolls the whole transition back
        raise BadInput("an amendment needs its text: add --set change=TEXT (and item, line, reason)")
    amendment = {name: given.get(name) for name in FIELDS}
    amendment["at"] = ctx.event.at.isoformat()
    ctx.track_data["amendments"] = [*amendments_of(ctx.track_data), amendment]
    for name in FIELDS:  # the list is the record; the last values need not linger
        ctx.track_data.pop(name, None)


def amendments_of(data) -> list[dict]:
    """The amendments kept in a track's data: only well-formed ones, whatever else a
    value of an older database (or of a workflow without this action) holds."""
    found = data.get("amendments") if isinstance(data, dict) else None
    return [a for a in found if isinstance(a, dict)] if isinstance(found, list) else []


@rcmflow.hookimpl
def register_actions(register):
    # the list is this action's: `--set amendments=…` is refused before it could break it
    register("record_amendment", record_amendment, in_transaction=True, owns=["amendments"])


@rcmflow.hookimpl
def document_context(context, instance):
    """Documents list the amendments: `amendments` (all, in country order) and each
    track's own; an amendment alone is not a country's input."""
    everyone = []
    for code, track in context["tracks"].items():
        data = instance.tracks[code].data
        mine = [{"item": None, "line": None, "change": None, "reason": None, "at": None, **a,
                 "participant": code, "country": track["name"]}
                for a in amendments_of(data)]
        track["amendments"] = mine
        everyone += mine
        track["has_input"] = bool(track["attachments"]) or any(
            v not in (None, "", [], {}) for k, v in data.items() if k != "amendments")
    context["amendments"] = everyone


@rcmflow.hookimpl
def register_commands(cli, pass_engine):
    @cli.command()
    @click.argument("instance")
    @click.option("--participant", "-p", help="Only this country's amendments.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
    @pass_engine
    def amendments(engine, instance, participant, as_json):
        """The amendments proposed to INSTANCE's text, by country."""
        view = engine.get(instance)
        rows = [
            {"participant": p, "item": None, "line": None, "change": None, "reason": None, **a}
            for p, track in view.tracks.items() if participant in (None, p)
            for a in amendments_of(track.data)
        ]
        if as_json:
            click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            click.echo(f"no amendments to {instance} yet")
        for row in rows:
            where = ", ".join(f"{k} {row[k]}" for k in ("item", "line") if row.get(k))
            click.echo(f"{row['participant']}  {where or 'general'}: {row['change']}"
                       + (f"  (reason: {row['reason']})" if row.get("reason") else ""))
