"""`rcmflow attachments`: the files countries sent, as they were sent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from rcmflow.errors import BadInput
from rcmflow.language import _
from rcmflow.output import emit_json

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.context import Attachment


def list_or_save(engine: "Engine", instance: str, participant: str | None, folder: str | None,
                 as_json: bool) -> None:
    view = engine.get(instance)  # an unknown instance: one line, nothing written
    if participant is not None and participant not in view.tracks:
        raise BadInput(_("{code} is not a participant of {instance}; its participants are {known}").format(
            code=participant, instance=instance, known=", ".join(view.tracks) or _("none")))
    files = engine.attachments(instance, participant)
    saved = save(files, Path(folder)) if folder else {}
    if as_json:
        return emit_json([{"participant": f.participant, "filename": f.filename, "size": f.size,
                           "sha256": f.sha256, "event": f.event_seq, "at": f.at.isoformat() if f.at else None,
                           "saved": saved.get(id(f))} for f in files])
    if not files:
        click.echo(_("{instance}: no files were sent by {code}").format(instance=instance, code=participant)
                   if participant else _("{instance}: no files were sent").format(instance=instance))
        return
    for f in files:
        when = engine.local(f.at).strftime("%Y-%m-%d %H:%M") if f.at else ""
        where = f"  -> {saved[id(f)]}" if id(f) in saved else ""
        click.echo(f"{f.participant or '-':6} {f.filename}  {f.size:,} bytes  sent {when} (event {f.event_seq})  "
                   f"sha256 {f.sha256}{where}")


def save(files: list["Attachment"], folder: Path) -> dict[int, str]:
    """Write each file to folder/PARTICIPANT/NAME (oldest first, so a file sent again
    under the same name ends as the latest); where each went, by the file's id()."""
    where: dict[int, str] = {}
    for f in files:
        name = Path(f.filename).name
        if name in ("", ".", "..") or name != f.filename:
            raise BadInput(_("the attached file name {name} cannot be written as it is").format(name=repr(f.filename)))
        target = folder / (f.participant or "instance") / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.content)
        except OSError as exc:
            raise BadInput(_("cannot write {file}: {reason}").format(file=target, reason=exc.strerror or exc)) from None
        where[id(f)] = str(target)
    return where
