"""What a build may be asked for and where its files go: template names, formats,
the path of each output under out/, and writing it whole or not at all.

Each language a build writes is an edition: out/<instance>/<template>.<language>.<format>
(regional-input.es.docx, regional-input.en.html); `edition_of` reads a file name back.

Cheap to import (no document library): the action's check and the command use it
with every command line.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rcmflow.context import INSTANCE_ID
from rcmflow.errors import BadInput
from rcmflow.language import _

FORMATS = ("docx", "html")
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TEMPLATE_SUFFIX = ".md.j2"
TEMPLATE_FOLDER = Path("workflows") / "templates"
OUT_FOLDER = "out"
EDITION = re.compile(r"^(?P<template>[a-z0-9][a-z0-9_-]*)\.(?P<language>[a-z]{2})\.(?P<format>docx|html)$")


@dataclass(frozen=True)
class BuiltFile:
    #: relative to the home, with forward slashes: out/theme-1/regional-input.es.docx
    path: str
    sha256: str
    size: int
    #: the edition's language (es, en)
    language: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "language": self.language, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Edition:
    """What a built file's name says: its template, language and format."""

    template: str
    language: str
    format: str


def edition_of(filename: str) -> Edition | None:
    """regional-input.es.docx -> Edition(regional-input, es, docx); None for any other name."""
    found = EDITION.match(filename)
    return Edition(found["template"], found["language"], found["format"]) if found else None


def check_template_name(name: Any) -> None:
    if not isinstance(name, str) or not TEMPLATE_NAME.match(name):
        raise BadInput(_("template name {name} must be lower case letters, digits, '-' or '_', "
                         "e.g. regional-input (the file workflows/templates/regional-input{suffix})").format(
            name=repr(name), suffix=TEMPLATE_SUFFIX))


def check_formats(formats: Any) -> str | None:
    """What is wrong with a list of formats, or None."""
    if not isinstance(formats, list) or not formats or any(f not in FORMATS for f in formats):
        return f"formats must be a list of {' and '.join(FORMATS)}, e.g. [docx, html]; got {formats!r}"
    return None


def available_templates(home: Path) -> list[str]:
    folder = home / TEMPLATE_FOLDER
    names = [p.name[:-len(TEMPLATE_SUFFIX)] for p in folder.glob(f"*{TEMPLATE_SUFFIX}")] if folder.is_dir() else []
    return sorted(n for n in names if TEMPLATE_NAME.match(n))


def output_path(home: Path, instance_id: str, template: str, fmt: str, language: str | None = None) -> Path:
    """Where a build writes: out/<instance>/<template>.<language>.<fmt> (without a
    language, the single name older builds wrote), and never outside out/."""
    check_template_name(template)
    if language is not None and not re.fullmatch(r"[a-z]{2}", language):
        raise BadInput(f"language {language!r} cannot name an edition; write a code such as es or en")
    if not INSTANCE_ID.match(instance_id):
        raise BadInput(f"instance id {instance_id!r} cannot name an output folder")
    if fmt not in FORMATS:
        raise BadInput(_("unknown format {format}; formats: {known}").format(format=repr(fmt), known=", ".join(FORMATS)))
    out = (home / OUT_FOLDER).resolve()
    name = f"{template}.{language}.{fmt}" if language else f"{template}.{fmt}"
    target = (out / instance_id / name).resolve()
    # The names above cannot climb, but out/<instance> may be a symlink: judge the real path.
    if not target.is_relative_to(out):
        raise BadInput(f"refusing to write {target}: it is outside {out}")
    return target


def write_file(target: Path, relative: str, content: bytes, language: str | None = None) -> BuiltFile:
    """Replace `target` with `content` atomically; `relative` is how the history names it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename: a reader (or a crash) never sees half a file.
    # os.open rather than mkstemp, so that the file gets the umask's usual mode, not 0600.
    temporary = target.with_name(f".{target.name}.{os.urandom(6).hex()}.tmp")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as stream:
            stream.write(content)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return BuiltFile(relative, hashlib.sha256(content).hexdigest(), len(content), language)
