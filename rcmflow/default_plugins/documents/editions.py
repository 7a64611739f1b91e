"""Which editions a document has: one per language its readers use.

The readers of an instance's document are the people of its participants (their
focal points and anyone else who speaks for them in members.yaml) and the home
(`language` in rcmflow.toml, default en). Each of their languages that rcmflow's
catalogs speak gets an edition; a reader whose language has none (a French focal
point) reads the home's edition, which is always built, and is listed first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rcmflow.language import DEFAULT, LANGUAGES

if TYPE_CHECKING:
    from rcmflow import Engine
    from rcmflow.context import InstanceView


def home_language(engine: "Engine") -> str:
    """The home's language: rcmflow.toml's `language`, not the command's --lang (the
    documents are for their readers, whoever builds them)."""
    language = engine.config.settings.get("language") or DEFAULT
    return language if language in LANGUAGES else DEFAULT


def edition_languages(engine: "Engine", view: "InstanceView") -> tuple[str, ...]:
    """The languages of the instance's editions: the home's first, then the others its
    participants' people use, in the order of rcmflow's catalogs."""
    participants = set(view.tracks)
    spoken = {person.language for person in engine.members.people.values() if person.country in participants}
    home = home_language(engine)
    return (home, *(language for language in LANGUAGES if language in spoken and language != home))


def reader_edition(language: str | None, available: list[str], home: str) -> str | None:
    """The edition a reader of `language` gets among `available`: their own, else the
    home's, else the first there is."""
    for wanted in (language, home):
        if wanted in available:
            return wanted
    return available[0] if available else None
