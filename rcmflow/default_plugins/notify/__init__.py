"""The built-in `notify` action: e-mail from templates, in each recipient's language.

A definition writes ``{notify: {to: RULE, template: NAME}}``, optionally with
``attach: [DOCUMENT, …]`` (the documents built from those templates, or ``files``:
those sent with the step) and ``invitation: PARAM`` (a calendar invitation to the
meeting on that date param); see ``parts``. RULE names who gets the message:

- ``participants``: the focal points of every participant of the instance;
- ``participant``: the focal points of the participant whose track moved;
- ``secretariat`` or ``ppt``: the people with that role;
- a group of ``members.yaml`` (``members``, ``troika``, …): its countries' focal points;
- a person id or an e-mail address;
- or a list of any of these.

NAME is a pair of Jinja2 files in the home's ``workflows/templates/``,
``NAME.en.txt.j2`` and ``NAME.es.txt.j2`` (or any language of members.yaml); a
recipient whose language has no file gets the English one. The first line of a
template is ``Subject: …``, then a blank line, then the plain-text body. A template
sees, for each recipient:

- ``instance`` (id, workflow, state, params, data) and ``definition`` (name, title);
- ``recipient`` (name, email, language) and ``country``, the name of the
  recipient's country; ``track`` (participant, state, due, overdue), that country's
  track, with its due date as ``deadline`` (both None for someone without one); for
  a reminder or an extension of one of a track's named deadlines, ``deadline`` is that
  deadline's day, ``deadline_name`` and ``deadline_title`` say which, and ``overdue``
  whether its day has passed;
- ``event`` (trigger, participant, actor, note): what queued the notification;
- ``documents``: the files built for the instance (``out/<instance-id>/…``);
- ``theme_title``, when the workflow has a ``theme`` param: its label;
- ``attached`` (the file names attached) and ``links`` ((name, address) of those too
  big to attach), ``meeting`` (the date of the invitation), ``days_left`` (to the
  track's deadline, when the message was queued), ``due_what`` (what the deadline is
  for), ``subgroup`` and ``in_subgroup`` (a consultation's thematic subgroup);
- ``language``, and the filter ``longdate`` (20 April 2030, 20 de abril de 2030).

A recipient whose language has no template gets the English one, whose first line
says so; ``rcmflow workflows validate`` reports the gap (the ``check_project`` hook).
Every message to a person about an instance after the first replies to the first
(In-Reply-To, References), whose Message-ID the ledger keeps.

Names and titles come in the language of the template used.

How a run goes, and why:

1. Resolve the recipients, and drop those this outbox action already reached (its
   ``ctx.ledger``, keyed by ``ctx.idempotency_key`` and address).
2. Render every remaining message before sending any, so that a template error
   sends nothing. Templates come from files anyone with access to the home can
   edit, so they run in Jinja's immutable sandbox, with undefined names as errors.
   The subject is rendered from the template's first line on its own: whatever a
   value contains, the subject stays one line, and line breaks never reach a header.
3. Deliver each message (SMTP, or an ``.eml`` file in the outbox folder when no
   SMTP host is set) and mark it in the ledger the moment the server has said 250,
   with nothing in between, in a short transaction of its own. The Message-ID is
   derived from the instance, the event, the outbox action and the address, so it is
   the same on every attempt. What cannot be made exactly-once is a crash (or a
   connection lost) between the server keeping a message and that mark: the retry
   then sends it again with the same Message-ID, which lets mail clients fold the
   copies (tests/test_exactly_once.py kills the sender in every phase to show that
   this is the only repetition, and that no message is ever lost).
4. Who was not reached, and why, is put in the ledger (``outbox-N:not-reached``):
   ``rcmflow outbox``, ``status INSTANCE`` and the status page show it, and ``fire``
   warns that the e-mail could not go out. A permanent refusal (5xx: an unknown
   mailbox, a sender the server will not take) fails the action at once with the
   server's reason (``rcmflow outbox retry N`` once it is fixed); anything temporary
   (4xx, a server down or a connection lost) leaves it to ``tick``, with a growing
   pause, and the retry sends only to those not yet marked.

With an SMTP host, ``from`` must be the secretariat's real address: without it (or
with an address at ``localhost``) rcmflow.toml is refused when it is read, naming
the setting, since strict servers refuse such a sender for good.

Settings (``rcmflow.toml``)::

    language = "es"              # for addresses that are not people of members.yaml
    [smtp]
    host = "smtp.example.org"    # RCMFLOW_SMTP_HOST; no host: write .eml files instead
    port = 587                   # RCMFLOW_SMTP_PORT; default 587 with starttls, else 25
    starttls = true
    username = "rcm-ts"          # RCMFLOW_SMTP_USER
    from = "RCM Technical Secretariat <secretariat@example.org>"
    timeout = 30                 # seconds
    [outbox]
    folder = "outbox"            # relative to the home
    [notify]
    attach_limit = "10 MB"       # above it, the documents are linked, not attached
    status_page = "https://rcm.example.org"   # where those links point

The password is read only from the environment (``RCMFLOW_SMTP_PASSWORD``), never
from a file that may be copied or committed.

The parts: ``arguments`` (the check of the definition's arguments), ``recipients``
(who ``to:`` names), ``compose`` (templates, languages, headers), ``parts``
(attachments, invitations, threads), ``gaps`` (missing languages), ``transport``
(settings, SMTP, .eml files) and ``action`` (the run above). Like any plugin, notify
uses only the plugin API: ``ctx`` and ``rcmflow.context``, ``rcmflow.errors``,
``rcmflow.log`` and ``rcmflow.model``.
"""

from __future__ import annotations

from rcmflow import hookimpl
from rcmflow.default_plugins.notify.action import notify
from rcmflow.default_plugins.notify.arguments import check
from rcmflow.default_plugins.notify.common import NotifyError

__all__ = ["NotifyError", "check", "notify"]


@hookimpl
def register_actions(register):
    register("notify", notify, check=check)


@hookimpl
def check_project(home, definitions, members, report):
    from rcmflow.default_plugins.notify.gaps import template_gaps

    template_gaps(home, definitions, members, report)
