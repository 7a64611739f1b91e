"""Documents built from an instance: the `build_document` action and `rcmflow build`.

The secretariat's consolidated documents (a consultation's regional input, the
declaration draft with its amendments, the Troika report, a deliverable's review)
are Jinja2 templates over Markdown in the home's ``workflows/templates/NAME.md.j2``.
A build runs in five steps, each with one job:

1. **Context.** The instance is turned into plain dicts, lists and strings
   (``instance``, ``definition``, ``members``, ``tracks``, ``amendments``,
   ``attachments``, ``now``): a template never holds an engine, a session or a
   model object, so there is nothing behind a value to reach for. The text of
   attached .docx, .md and .txt files is extracted as Markdown; other files
   (.pdf) are listed without text.
2. **Template.** Rendered in Jinja2's immutable sandbox with ``StrictUndefined``
   (a misspelt name is an error, not a blank). Every ``{{ value }}`` is
   Markdown-escaped on output (``finalize``), the way HTML templates autoescape:
   what a country wrote always stays text and cannot open a heading, a list or a
   table, nor smuggle HTML. Text meant as Markdown (an attached .md or .docx, the
   declaration's text) says so with ``| markdown(level)``, which also moves its
   headings below the section it sits in. The template's own lines are Markdown.
3. **Markdown.** Parsed once with markdown-it-py, restricted to what documents
   need: headings, paragraphs, bullet and numbered lists, pipe tables, bold and
   italic, backslash escapes and line breaks (kept, since amendments point at
   "item 1, line 3"). Raw HTML, links, images and code are not recognised at all,
   so they come out as the characters that were written.
4. **Outputs** from that one token stream: .docx through python-docx with Word's
   own styles (Heading 1-6, List Bullet, List Number with numbering restarted per
   list, Table Grid), and one standalone .html page (inline CSS, UTF-8) through
   markdown-it's renderer, which escapes all text.
5. **Files and history.** Files go to ``<home>/out/<instance>/<template>.<ext>``:
   the name is made only of the instance id and the template name, both checked
   against strict patterns, and the resolved path must lie inside ``out/`` (a
   symlinked folder cannot lead elsewhere). Every format is rendered before any
   file is written, and each file replaces the old one atomically. Each build is
   recorded in the instance's history as a ``build`` event with the files' paths,
   SHA-256 and sizes.

The action (``{build_document: {template: regional-input, formats: [docx, html]}}``)
runs after the commit like every effect; a failing template leaves it in the outbox
with a one-line error and writes nothing. ``rcmflow build`` does the same by hand.

The parts, by job: `files` (names, formats, where outputs go), `context` (step 1),
`attachments` (the text of attached files), `template` (step 2), `markdown` (step 3),
`word` and `html` (step 4), `build` (the five steps in order), `action` and
`commands` (the two ways to start a build).
"""

from __future__ import annotations

from rcmflow import hookimpl
from rcmflow.default_plugins.documents.action import build_document, check_build_document
from rcmflow.default_plugins.documents.commands import add_commands


@hookimpl
def register_actions(register):
    register("build_document", build_document, check=check_build_document)


@hookimpl
def register_commands(cli, pass_engine):
    add_commands(cli, pass_engine)
