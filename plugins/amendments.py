"""Amendments to a text: recorded on each country's track, listed by a command.

A country proposes an amendment with its track's trigger, for example:

    rcmflow fire declaration-2017 propose_amendment -p GT \
        --set item=1 --set line=3 --set change='say "victims of crimes"' \
        --set reason="migrants can be victims of various crimes"

The `record_amendment` action (in the transition's transaction) appends it to the
track's `amendments` list, so a country may propose many; they are numbered per
country (GT 1, GT 2, …). The secretariat then gives each a disposition, with the
`record_disposition` action of an instance transition:

    rcmflow fire declaration-2017 resolve_amendment --set amendment="GT 1" \
        --set disposition=merged --set reason="with HN 1, in item 5"

(taken_in, merged or not_taken_in; a reason for all but taken_in), and the
`amendments_resolved` guard holds the agreed draft until every amendment has one.
`rcmflow amendments INSTANCE` lists them by country, with their dispositions and
the terms each country asked to keep out.
"""

from __future__ import annotations

import json

import click

import rcmflow
from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.model.glossary import fold, split_terms

FIELDS = ("item", "line", "change", "reason")
DISPOSITIONS = {"taken_in": "taken in", "merged": "merged", "not_taken_in": "not taken in"}
TERMS_KEY = "exclude_terms"


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


def numbered(tracks) -> list[tuple[str, int, dict]]:
    """(country, number, amendment) of every amendment, in country order."""
    return [(code, n, a) for code, track in tracks.items() for n, a in enumerate(amendments_of(track.data), 1)]


def record_disposition(ctx, args):
    """Give one amendment ("GT 1") its disposition: taken in, merged or not taken in, and why."""
    given = ctx.event.data.get("values", {})
    known = {f"{code} {n}": a for code, n, a in numbered(ctx.instance.tracks)}
    which = " ".join(str(given.get("amendment") or "").upper().split())
    if which not in known:
        raise BadInput(f"--set amendment={which!r} names no amendment; the amendments are "
                       f"{', '.join(known) or 'none yet'}")
    disposition = str(given.get("disposition") or "")
    if disposition not in DISPOSITIONS:
        raise BadInput(f"--set disposition={disposition!r}: give one of {', '.join(DISPOSITIONS)}")
    reason = str(given.get("reason") or "").strip()
    if disposition != "taken_in" and not reason:
        raise BadInput(f"an amendment {DISPOSITIONS[disposition]} needs its reason: add --set reason=TEXT")
    dispositions = dict(ctx.data.get("dispositions") or {})
    dispositions[which] = {"disposition": disposition, "reason": reason or None, "by": ctx.event.actor,
                           "at": ctx.event.at.isoformat()}
    ctx.data["dispositions"] = dispositions
    for name in ("amendment", "disposition", "reason"):  # the record is `dispositions`
        ctx.data.pop(name, None)


def dispositions_of(data) -> dict[str, dict]:
    found = data.get("dispositions") if isinstance(data, dict) else None
    return {k: v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def amendments_resolved(ctx, args):
    """Every amendment proposed has a disposition."""
    given = dispositions_of(ctx.instance.data)
    waiting = [f"{code} {n}" for code, n, _ in numbered(ctx.tracks) if f"{code} {n}" not in given]
    if not waiting:
        return None
    return (f"{len(waiting)} amendments have no disposition yet: {', '.join(waiting)} "
            f"(fire resolve_amendment --set amendment=\"{waiting[0]}\" --set disposition=…)")


@rcmflow.hookimpl
def register_actions(register):
    # the list is this action's: `--set amendments=…` is refused before it could break it
    register("record_amendment", record_amendment, in_transaction=True, owns=["amendments"])
    register("record_disposition", record_disposition, in_transaction=True, owns=["dispositions"])


@rcmflow.hookimpl
def register_guards(register):
    register("amendments_resolved", amendments_resolved)


@rcmflow.hookimpl
def document_context(context, instance):
    """Documents list the amendments: `amendments` (all, in country order) and each
    track's own; an amendment alone is not a country's input."""
    everyone = []
    given = dispositions_of(instance.data)
    for code, track in context["tracks"].items():
        data = instance.tracks[code].data
        mine = [{"item": None, "line": None, "change": None, "reason": None, "at": None, **a,
                 "participant": code, "country": track["name"], "number": n,
                 "disposition": DISPOSITIONS.get((given.get(f"{code} {n}") or {}).get("disposition")),
                 "disposition_reason": (given.get(f"{code} {n}") or {}).get("reason")}
                for n, a in enumerate(amendments_of(data), 1)]
        track["terms_kept_out"] = str(data.get(TERMS_KEY) or "")
        track["amendments"] = mine
        everyone += mine
        track["has_input"] = bool(track["attachments"] or track.get("notes")) or any(
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
        given = dispositions_of(view.data)
        glossary = engine.members.glossary
        rows = [
            {"participant": p, "number": n, "item": None, "line": None, "change": None, "reason": None, **a,
             "terms_kept_out": str(view.tracks[p].data.get(TERMS_KEY) or "") or None,
             # each term with its equivalents by language (workflows/glossary.yaml), all kept out
             "equivalents": {term: {code: list(words) for code, words in glossary.equivalents(term).items() if code}
                             for term in split_terms(view.tracks[p].data.get(TERMS_KEY))},
             "disposition": given.get(f"{p} {n}")}
            for p, n, a in numbered(view.tracks) if participant in (None, p)
        ]
        if as_json:
            click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            click.echo(f"no amendments to {instance} yet")
        for row in rows:
            click.echo(amendment_line(row))


def amendment_line(row: dict) -> str:
    """ "GT 1  item 1, line 3: say "victims of crimes"  (reason: …)  -> merged: with HN 1" """
    where = ", ".join(f"{k} {row[k]}" for k in ("item", "line") if row.get(k))
    line = f"{row['participant']} {row['number']}  {where or 'general'}: {row['change']}"
    if row.get("reason"):
        line += f"  (reason: {row['reason']})"
    if row.get("terms_kept_out"):
        line += "  " + _("[terms kept out: {terms}]").format(terms="; ".join(
            term + (f" ({'; '.join(others)})" if (others := [f"{code}: {', '.join(words)}" for code, words in forms.items()
                                                             if [fold(w) for w in words] != [fold(term)]]) else "")
            for term, forms in row["equivalents"].items()) or row["terms_kept_out"])
    done = row.get("disposition")
    line += f"  -> {DISPOSITIONS.get(done['disposition'], done['disposition'])}" + (
        f": {done['reason']}" if done.get("reason") else "") if done else "  -> no disposition yet"
    return line
