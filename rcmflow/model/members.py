"""Who takes part: countries, the people who act for them, their roles and groups.

Read from `workflows/members.yaml`, with the words they agreed on in each language
(`workflows/glossary.yaml`, see `model.glossary`). An actor is a person's `id` (or e-mail); their
roles decide which transitions they may fire. A person with a `country` is one of
that country's focal points and may act only on that country's track.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from rcmflow.language import _
from rcmflow.model.glossary import Glossary, load_glossary
from rcmflow.model.loader import Problems, load_yaml, prune
from rcmflow.model.schema import MembersShape, shape_problems

#: Roles that every project has; members.yaml may add more through `roles:`.
BUILTIN_ROLES = frozenset({"secretariat", "focal_point", "ppt"})
LANGUAGES = frozenset({"en", "es", "fr"})
COUNTRY_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
MEMBERS_FILE = "workflows/members.yaml"


@dataclass(frozen=True)
class Country:
    """A member country, or an observer (civil society, an agency, a peer process)
    that can take part in a step without a vote."""

    code: str
    names: dict[str, str]
    language: str
    member: bool = True

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names.get("en") or self.code


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    email: str
    language: str
    roles: frozenset[str]
    country: str | None = None


@dataclass(frozen=True)
class Members:
    countries: dict[str, Country] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: the terms' equivalents in each language (workflows/glossary.yaml)
    glossary: Glossary = field(default_factory=Glossary)

    def person(self, actor: str) -> Person | None:
        """The person an actor names, by id or by e-mail address."""
        if actor in self.people:
            return self.people[actor]
        for person in self.people.values():
            if person.email.lower() == actor.lower():
                return person
        return None

    def known_roles(self) -> frozenset[str]:
        roles = set(BUILTIN_ROLES)
        for person in self.people.values():
            roles |= person.roles
        return frozenset(roles)

    def focal_points(self, country: str) -> list[Person]:
        """The country's people, but for those with a role of their own (a head of
        delegation): they get what names that role."""
        return [p for p in self.people.values() if p.country == country and p.roles <= BUILTIN_ROLES]

    def holders(self, role: str) -> list[str]:
        return sorted(p.id for p in self.people.values() if role in p.roles)


def load_members(home: Path) -> tuple[Members, Problems]:
    """Load `workflows/members.yaml` and `workflows/glossary.yaml`; a missing file means
    nobody is known yet (no term has equivalents)."""
    members, problems = _load_members(home)
    glossary, glossary_problems = load_glossary(home, LANGUAGES)
    problems.extend(glossary_problems)
    return replace(members, glossary=glossary), problems


def _load_members(home: Path) -> tuple[Members, Problems]:
    path = home / "workflows" / "members.yaml"
    problems = Problems(MEMBERS_FILE)
    if not path.exists():
        return Members(), problems
    data, problems = load_yaml(path, MEMBERS_FILE)
    if data is None:
        if not problems:
            problems.add(data, _("members.yaml is empty: list countries, people and groups, or delete the file"))
        return Members(), problems
    if not isinstance(data, dict):
        problems.add(data, _("members.yaml must be a mapping with countries, people and groups"))
        return Members(), problems
    if not shape_problems(MembersShape, prune(data), problems, "members.yaml"):
        return Members(), problems
    countries = _read_countries(data, problems)
    people = _read_people(data, countries, problems)
    groups: dict[str, tuple[str, ...]] = {}
    for name, codes in (data.get("groups") or {}).items():
        for index, code in enumerate(codes or []):
            if code not in countries:
                message = _("group {group} names unknown country {code}").format(group=name, code=repr(code))
                problems.add(data["groups"][name], message, index)
        groups[name] = tuple(codes or ())
    return Members(countries, people, groups), problems


def _read_countries(data: dict, problems: Problems) -> dict[str, Country]:
    countries: dict[str, Country] = {}
    for section, member in (("countries", True), ("observers", False)):
        for code, spec in (data.get(section) or {}).items():
            if not COUNTRY_CODE.match(code):
                problems.add(data[section], _("code {code} must be upper case, like MX or RNCOM").format(
                    code=repr(code)), code)
                continue
            if code in countries:
                problems.add(data[section], _("code {code} is declared twice").format(code=code), code)
            spec = spec or {}
            names = spec.get("name") or {}
            language = spec.get("language", "en")
            if language not in LANGUAGES:
                problems.add(spec, _("language {language} of {code} is not one of {valid}").format(
                    language=repr(language), code=code, valid=sorted(LANGUAGES)), "language")
            countries[code] = Country(code, {"en": names} if isinstance(names, str) else dict(names), language, member)
    return countries


def _read_people(data: dict, countries: dict[str, Country], problems: Problems) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for spec in data.get("people") or []:
        pid = spec["id"]
        if pid in people:
            problems.add(spec, _("person id {id} is used twice").format(id=repr(pid)), "id")
        country = spec.get("country")
        if country is not None and country not in countries:
            problems.add(spec, _("person {id} belongs to unknown country {country}").format(
                id=pid, country=repr(country)), "country")
        roles = frozenset(spec.get("roles") or ())
        if country is not None:
            roles |= {"focal_point"}
        default_language = countries[country].language if country in countries else "en"
        people[pid] = Person(
            id=pid,
            name=spec.get("name", pid),
            email=spec.get("email", ""),
            language=spec.get("language", default_language),
            roles=roles,
            country=country,
        )
    return people
