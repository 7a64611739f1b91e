"""The words of the RCM in each of its languages: `workflows/glossary.yaml`.

Each entry gives one term's equivalents per language, one form or several (a plural,
a variant); a term a member asks to keep out of a text is kept out in every language:

    terms:
      - {en: modern slavery, es: esclavitud moderna, fr: esclavage moderne}
      - {en: [refugee, refugees], es: [refugiado, refugiados, refugiada, refugiadas]}

Terms are compared as people read them: whatever the case, the accents and the
spaces between words ("Esclavitud  Moderna" is "esclavitud moderna").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the plugins that compare terms load with --help: the YAML reader only when a file is read
    from rcmflow.model.loader import Problems

GLOSSARY_FILE = "workflows/glossary.yaml"


def split_terms(value) -> list[str]:
    """The terms a member asked to keep out, one by one: given as a list, or as text
    separated by ";" or lines ("slavery; modern slavery")."""
    items = value if isinstance(value, list) else re.split(r"[;\n]", str(value or ""))
    return [" ".join(str(item).split()) for item in items if str(item).strip()]


def fold(text: str) -> str:
    """`text` as compared: lower case, without accents, one space between words."""
    return " ".join(folded(text)[0].split())


def folded(text: str) -> tuple[str, list[int]]:
    """`text` in lower case without accents, and for each of its characters the index
    of the character of `text` it comes from (so that a match points into `text`)."""
    chars, origins = [], []
    for index, char in enumerate(text):
        for part in unicodedata.normalize("NFD", char).casefold():
            if not unicodedata.combining(part):
                chars.append(part)
                origins.append(index)
    return "".join(chars), origins


@dataclass(frozen=True)
class Glossary:
    #: each entry: {language: (form, ...)}
    entries: tuple[dict[str, tuple[str, ...]], ...] = ()
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def equivalents(self, term: str) -> dict[str, tuple[str, ...]]:
        """Every form of `term` by language (the term itself included), or, for a term
        the glossary does not know, the term alone under "" (no language)."""
        found = self._index.get(fold(term))
        return self.entries[found] if found is not None else {"": (" ".join(term.split()),)}

    def forms(self, term: str) -> list[str]:
        """Every form of `term` in every language, the term itself first."""
        forms = [" ".join(term.split())]
        for words in self.equivalents(term).values():
            forms += [w for w in words if fold(w) not in map(fold, forms)]
        return forms


def load_glossary(home: Path, languages: frozenset[str]) -> tuple[Glossary, Problems]:
    """Load `workflows/glossary.yaml` (equivalents in `languages`); without one, every
    term stands for itself only."""
    from rcmflow.model.loader import Problems, load_yaml

    path = home / "workflows" / "glossary.yaml"
    problems = Problems(GLOSSARY_FILE)
    if not path.exists():
        return Glossary(), problems
    data, problems = load_yaml(path, GLOSSARY_FILE)
    if problems:
        return Glossary(), problems
    example = "terms: [{en: modern slavery, es: esclavitud moderna}]"
    if not isinstance(data, dict) or set(data) != {"terms"} or not isinstance(data["terms"], list):
        problems.add(data, f"glossary.yaml must be a mapping with one key, terms: a list like {example}")
        return Glossary(), problems
    entries, index = [], {}
    for number, entry in enumerate(data["terms"]):
        if not isinstance(entry, dict) or not entry:
            problems.add(data["terms"], f"each term is a mapping of language: equivalent, like {example[8:-1]}",
                         number)
            continue
        forms: dict[str, tuple[str, ...]] = {}
        for language, words in entry.items():
            if language not in languages:
                problems.add(entry, f"language {language!r} is not one of {sorted(languages)}", language)
                continue
            words = words if isinstance(words, list) else [words]
            if not words or not all(isinstance(w, str) and w.strip() for w in words):
                problems.add(entry, f"{language}: give the term as text, or a list of its forms", language)
                continue
            forms[language] = tuple(" ".join(w.split()) for w in words)
            for word in forms[language]:
                if fold(word) in index and index[fold(word)] != len(entries):
                    other = entries[index[fold(word)]]
                    problems.add(entry, f"{word!r} is already an equivalent of "
                                        f"{next(iter(other.values()))[0]!r}; give each term once", language)
                index[fold(word)] = len(entries)
        entries.append(forms)
    return Glossary(tuple(entries), index), problems
