"""The regional review compiles: `compile` builds the compilation of the six regional
inputs (Word and HTML), `circulate` sends it to every member for comments, comments
have reminders, and the consolidated text is built at the end."""

from __future__ import annotations

import docx
import pytest

from .test_messages import EVERY_MEMBER, attachments, mail, smtp, subject, take  # noqa: F401 (fixtures)

MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]


@pytest.fixture
def phase_one(mail, make_engine):  # noqa: F811
    """The six consultations of Phase I with their regional input submitted: each
    country sent a note on each theme, the United States declined theme 5."""
    mail()
    engine = make_engine()
    for theme in range(1, 7):
        instance = f"theme-{theme}"
        engine.start("thematic-consultation", params={"theme": str(theme), "deadline": "2030-04-20"})
        engine.fire(instance, "open")
        for country in MEMBERS:
            if (theme, country) == (5, "US"):
                engine.fire(instance, "decline", country, note="no input on this theme")
                continue
            engine.fire(instance, "submit", country, note=f"{country} on theme {theme}")
            engine.fire(instance, "accept", country)
        for trigger in ("close_collection", "circulate", "submit_regional_input"):
            engine.fire(instance, trigger)
    engine.start("regional-review", params={"year": "2030", "comments_due": "2030-11-15"})
    return engine


def test_the_review_compiles_circulates_reminds_and_consolidates(phase_one, rcmflow, smtp, home,  # noqa: F811
                                                                  monkeypatch):
    smtp.mailbox.received.clear()
    assert rcmflow("fire", "review-2030", "compile").exit_code == 0
    compilation = home / "out" / "review-2030" / "compilation.en.docx"
    assert compilation.exists() and (home / "out" / "review-2030" / "compilation.en.html").exists()
    items = [(p.style.name, p.text) for p in docx.Document(compilation).paragraphs if p.text.strip()]
    themes = [t for s, t in items if s == "Heading 2"]
    assert len(themes) == 6 and themes[0].startswith("Theme 1: Human rights of all migrants")
    assert ("Normal", "Consultation theme-5, submitted: 10 of 11 member countries sent input.") in items
    assert any(t.endswith("MX on theme 3") for _, t in items)
    spanish = [(p.style.name, p.text) for p in docx.Document(compilation.with_name("compilation.es.docx")).paragraphs
               if p.text.strip()]
    assert spanish[0] == ("Heading 1", "Compilación de los insumos regionales de la Fase I, 2030")
    assert [t for s, t in spanish if s == "Heading 2"][0].startswith("Tema 1: Derechos humanos de todas las personas")
    assert ("Normal", "Consulta theme-5, enviado: 10 de los 11 países miembros enviaron insumos.") in spanish

    assert rcmflow("fire", "review-2030", "circulate").exit_code == 0
    sent = take(smtp)
    assert sorted(sent) == EVERY_MEMBER
    assert sorted(attachments(sent["focal@cr.example.org"])) == ["compilation.es.docx", "compilation.es.html"]
    assert subject(sent["focal@cr.example.org"]) == ("Compilación para comentarios: Revisión regional y balance "
                                                     "(review-2030), plazo: 15 de noviembre de 2030")

    assert rcmflow("tick", "--now", "2030-11-08T12:00:00+00:00").exit_code == 0
    assert sorted(take(smtp)) == EVERY_MEMBER  # 7 days before
    assert rcmflow("tick", "--now", "2030-11-14T12:00:00+00:00").exit_code == 0
    reminded = take(smtp)
    assert sorted(reminded) == EVERY_MEMBER
    assert subject(reminded["focal@us.example.org"]) == ("Due tomorrow: Regional review and stocktaking (review-2030), "
                                                         "15 November 2030")
    assert reminded["focal@us.example.org"]["In-Reply-To"] == sent["focal@us.example.org"]["Message-ID"]
    monkeypatch.setenv("RCMFLOW_NOW", "2030-11-14T13:00:00+00:00")  # the comments come after the reminders

    for country in MEMBERS:
        trigger = ["fire", "review-2030", "comment", "-p", country, "--note", f"{country}: agreed"] \
            if country in ("GT", "HN") else ["fire", "review-2030", "no_comments", "-p", country]
        assert rcmflow(*trigger).exit_code == 0
    assert rcmflow("fire", "review-2030", "consolidate").exit_code == 0
    consolidated = home / "out" / "review-2030" / "consolidated.en.docx"
    items = [(p.style.name, p.text) for p in docx.Document(consolidated).paragraphs if p.text.strip()]
    comments = items[items.index(("Heading 2", "Comments of the member countries")):]
    assert ("Normal", "No comments.") in comments
    assert any(t.endswith("GT: agreed") for _, t in comments)
    spanish = [(p.style.name, p.text) for p in docx.Document(consolidated.with_name("consolidated.es.docx")).paragraphs
               if p.text.strip()]
    comments = spanish[spanish.index(("Heading 2", "Comentarios de los países miembros")):]
    assert ("Heading 3", "México") in comments and ("Normal", "Sin comentarios.") in comments

    refused = rcmflow("build", "review-2030")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == ("Error: regional-review names several build_document templates: give "
                                      "--template, one of compilation, consolidated")
