"""Spanish and English: the catalogs hold every message, `--lang`, `RCMFLOW_LANG` and
`language` in rcmflow.toml choose, `--json` is the same in every language, and a
source checkout compiles its catalogs on first use."""

from __future__ import annotations

import json

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from rcmflow import language
from rcmflow.language import LANGUAGES, negotiate
from tests.conftest import REPO, one_line


def catalog(code: str):
    with (REPO / "rcmflow" / "locale" / code / "LC_MESSAGES" / "rcmflow.po").open("rb") as handle:
        return read_po(handle, locale=code)


def extracted() -> dict[tuple[str, str | None], str]:
    """Every message marked in the code and the templates, and every state of the
    workflows, by (message, context): what `pybabel extract -F babel.cfg` finds."""
    with (REPO / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = {}
    for filename, line, message, _comments, context in extract_from_dir(str(REPO), method_map, options_map):
        key = message[0] if isinstance(message, tuple) else message
        found.setdefault((key, context), f"{filename}:{line}")
    return found


@pytest.mark.no_database
@pytest.mark.parametrize("code", LANGUAGES)
def test_every_message_is_in_the_catalog(code):
    messages = extracted()
    assert len(messages) > 80
    po = catalog(code)
    missing = [f"{where}: {message!r}" for (message, context), where in messages.items()
               if po.get(message, context=context) is None]
    assert ("collecting_input", "state") in messages  # the workflows' states are messages too
    assert missing == [], f"run pybabel extract and update (see rcmflow/language.py), then translate: {missing}"
    if code == "es":
        untranslated = [m.id for m in po if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple)
                                                                         else [m.string]))]
        assert untranslated == []
    # the placeholders of each translation are those of its message
    assert [(m.id, [str(e) for e in errors]) for m, errors in po.check()] == []


@pytest.mark.no_database
def test_a_source_checkout_compiles_a_catalog_on_first_use(tmp_path, monkeypatch):
    locale = tmp_path / "locale"
    folder = locale / "es" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "rcmflow.po").write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                                       'msgid "yes"\nmsgstr "sí"\n', encoding="utf-8")
    monkeypatch.setattr(language, "LOCALE", locale)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    language.translations.cache_clear()
    try:
        assert language.translations("es").gettext("yes") == "sí"
        [compiled] = (tmp_path / "cache").rglob("*.mo")
        # a catalog changed since: compiled anew
        (folder / "rcmflow.po").write_text((folder / "rcmflow.po").read_text(encoding="utf-8").replace("sí", "claro"),
                                           encoding="utf-8")
        language.translations.cache_clear()
        assert language.translations("es").gettext("yes") == "claro"
        assert len(list((tmp_path / "cache").rglob("*.mo"))) == 2 and compiled.exists()
    finally:
        language.translations.cache_clear()


@pytest.mark.no_database
@pytest.mark.parametrize(("header", "given", "chosen"), [
    ("es-MX,es;q=0.9,en;q=0.8", None, "es"), ("fr-FR, en;q=0.5, es;q=0.7", None, "es"),
    ("de, fr", None, "en"), (None, None, "en"), ("en-US", "es", "es"), ("es", "fr", "es"), ("es;q=0, en", None, "en"),
])
def test_the_page_language_is_asked_or_what_the_browser_prefers(header, given, chosen):
    assert negotiate(header, given) == chosen


def test_the_command_line_speaks_the_language_asked(rcmflow, opened, home, monkeypatch):
    english = rcmflow("status")
    assert "Participants" in english.stdout and "What each step waits for" in english.stdout
    spanish = rcmflow("--lang", "es", "status")
    assert spanish.exit_code == 0
    assert "Participantes" in spanish.stdout and "Qué espera cada paso" in spanish.stdout
    assert "What each step waits for" not in spanish.stdout
    detail = rcmflow("--lang", "es", "status", opened)
    assert "Consulta temática" in detail.stdout and "Belice" in detail.stdout and "VENCIDO" not in detail.stdout

    (home / "rcmflow.toml").write_text('language = "es"\n', encoding="utf-8")
    assert "Qué espera cada paso" in rcmflow("status").stdout
    assert "What each step waits for" in rcmflow("--lang", "en", "status").stdout  # --lang wins
    monkeypatch.setenv("RCMFLOW_LANG", "en")
    assert "What each step waits for" in rcmflow("status").stdout  # so does RCMFLOW_LANG


def test_every_command_takes_lang_after_its_name_too(rcmflow, opened):
    assert "Qué espera cada paso" in rcmflow("status", "--lang", "es").stdout
    assert "cuándo" in rcmflow("history", opened, "--lang", "es").stdout
    assert "--lang [en|es]" in rcmflow("workflows", "list", "--help").stdout


def test_json_is_the_same_in_every_language(rcmflow, opened):
    for command in (["status"], ["status", opened], ["status", "--participant", "MX"], ["history", opened],
                    ["triggers", opened], ["workflows", "list"]):
        english = rcmflow(*command, "--json")
        spanish = rcmflow("--lang", "es", *command, "--json")
        assert english.exit_code == 0 and spanish.exit_code == 0, command
        assert json.loads(english.stdout) == json.loads(spanish.stdout), command


def test_csv_headings_are_the_same_in_every_language(rcmflow, opened):
    assert rcmflow("--lang", "es", "status", "--csv").stdout == rcmflow("status", "--csv").stdout


def test_an_error_is_said_in_the_language(rcmflow, opened, snapshot):
    before = snapshot()
    result = rcmflow("--lang", "es", "status", "--participant", "XX")
    assert result.exit_code != 0
    assert one_line(result).startswith("Error: participante desconocido 'XX'; participantes: BZ, CA")
    assert snapshot() == before


def test_an_unknown_language_is_one_line_naming_those_spoken(rcmflow, engine, home, snapshot):
    before = snapshot()
    (home / "rcmflow.toml").write_text('actor = "ts-officer"\nlanguage = "fr"\n', encoding="utf-8")
    result = rcmflow("status")
    assert result.exit_code != 0
    assert one_line(result) == "Error: rcmflow.toml:2: unknown language 'fr'; rcmflow speaks en, es"
    assert snapshot() == before


@pytest.mark.no_database
def test_a_built_package_ships_the_compiled_catalogs(tmp_path):
    """What `pip install` installs: the wheel the build makes, with the .mo files in it."""
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(REPO / "rcmflow", source / "rcmflow", ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path / "wheel"), str(source)], check=True, capture_output=True, timeout=300)
    [wheel] = (tmp_path / "wheel").glob("rcmflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for code in LANGUAGES:
        assert f"rcmflow/locale/{code}/LC_MESSAGES/rcmflow.mo" in names
