"""Messages as the countries' mail clients and servers write them, built with `email`.

Each function returns the bytes of one message. `request` is the Message-ID (with <>)
of the message rcmflow sent that the message answers, when it answers one.
"""

from __future__ import annotations

import io
import mailbox
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import datetime as dt

SENT = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
QUOTED_REQUEST = "Dear focal point,\nthe Technical Secretariat asks for your input on theme 1."


def docx_bytes(text: str = "Aporte de México") -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_bytes(text: str = "Input of Guatemala") -> bytes:
    body = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
            b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
            b"4 0 obj<</Length " + str(len(body)).encode() + b">>stream\n" + body + b"\nendstream endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _base(sender: str, subject: str, request: str | None, to: str = "officer@ts.example.org") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(SENT)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">"))
    if request:
        msg["In-Reply-To"] = request
        msg["References"] = request
    msg["Authentication-Results"] = ("mx.ts.example.org; spf=pass smtp.mailfrom=example.org; "
                                     "dkim=pass header.d=example.org")
    return msg


def outlook_reply(request: str | None, sender: str = "Focal Point <focal@mx.example.org>", text: str = "",
                  attachment: tuple[str, bytes] | None = None) -> bytes:
    """Outlook: the reply on top, the request under a From:/Sent: block, a Thread-Index."""
    msg = _base(sender, "RE: Request for input: Thematic consultation, theme 1", request)
    msg["Thread-Index"] = "AQHZ1234567890abcdef=="
    msg["X-MS-Has-Attach"] = "yes"
    msg.set_content(f"{text or 'Adjunto el aporte de México.'}\n\n"
                    f"From: RCM Technical Secretariat <officer@ts.example.org>\nSent: Monday, 30 November 2026\n"
                    f"To: {sender}\nSubject: Request for input\n\n{QUOTED_REQUEST}\n")
    msg.add_alternative(f"<html><body><p>{text or 'Adjunto el aporte de México.'}</p>"
                        f"<div style='border-top:solid #E1E1E1'><b>From:</b> RCM TS</div></body></html>",
                        subtype="html")
    name, content = attachment or ("aporte-mexico.docx", docx_bytes())
    msg.add_attachment(content, maintype="application",
                       subtype="vnd.openxmlformats-officedocument.wordprocessingml.document", filename=name)
    return bytes(msg)


def gmail_reply(request: str | None, sender: str = "Guatemala <focal@gt.example.org>", text: str = "",
                attachment: tuple[str, bytes] | None = None) -> bytes:
    """Gmail: "On …, … wrote:" and the request quoted with "> "."""
    msg = _base(sender, "Re: Request for input: Thematic consultation, theme 1", request)
    quoted = "\n".join(f"> {line}" for line in QUOTED_REQUEST.splitlines())
    msg.set_content(f"{text or 'Enviamos nuestro aporte en PDF.'}\n\nOn Mon, Nov 30, 2026 at 9:00 AM RCM "
                    f"Technical Secretariat <officer@ts.example.org> wrote:\n\n{quoted}\n")
    name, content = attachment or ("aporte-guatemala.pdf", pdf_bytes())
    msg.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return bytes(msg)


def apple_reply(request: str | None, sender: str = "Costa Rica <Focal+RCM@CR.Example.org>", text: str = "") -> bytes:
    """Apple Mail: "On 30 Nov 2026, at 09:00, … wrote:" and a quoted block, plain text only."""
    msg = _base(sender, "Re: Request for input: Thematic consultation, theme 1", request)
    quoted = "\n".join(f"> {line}" for line in QUOTED_REQUEST.splitlines())
    msg.set_content(f"{text or 'Costa Rica has no further comments on theme 1.'}\n\nSent from my iPhone\n\n"
                    f"> On 30 Nov 2026, at 09:00, RCM Technical Secretariat <officer@ts.example.org> wrote:\n>\n"
                    f"{quoted}\n")
    return bytes(msg)


def forwarded(request: str | None, sender: str = "Panamá <focal@pa.example.org>") -> bytes:
    """A focal point forwards a colleague's input, in the thread of the request."""
    msg = _base(sender, "Fwd: aporte de Panamá, tema 1", request)
    msg.set_content("Reenvío el aporte del Ministerio.\n\n---------- Forwarded message ---------\n"
                    "From: Ministerio <ministerio@gob.pa.example.org>\nDate: Mon, 30 Nov 2026\n"
                    "Subject: aporte\n\nEl aporte de Panamá sobre el tema 1 está adjunto.\n")
    msg.add_attachment(docx_bytes("Aporte de Panamá"), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                       filename="aporte-panama.docx")
    return bytes(msg)


def out_of_office_es(request: str | None, sender: str = "focal@hn.example.org") -> bytes:
    """RFC 3834: Auto-Submitted, with the Spanish wording and a return date."""
    msg = _base(sender, "Respuesta automática: Solicitud de aportes", request)
    msg["Auto-Submitted"] = "auto-replied"
    msg.set_content("Estaré fuera de la oficina hasta el lunes 14 de diciembre de 2026, con acceso limitado "
                    "al correo.\nPara asuntos urgentes escriba a la Cancillería.\n")
    return bytes(msg)


def out_of_office_en(request: str | None, sender: str = "focal@bz.example.org") -> bytes:
    """Outlook's out-of-office: no Auto-Submitted, only its own header and the wording."""
    msg = _base(sender, "Automatic reply: Request for input", request)
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content("I am currently out of the office until December 9, 2026 with no access to e-mail.\n")
    return bytes(msg)


def dsn_bounce(request: str, failed: str = "focal@mx.example.org") -> bytes:
    """A delivery status notification (RFC 3464) of the request sent to `failed`, as Postfix writes it."""
    return f"""From: Mail Delivery System <MAILER-DAEMON@mx.ts.example.org>
To: officer@ts.example.org
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(SENT)}
Message-ID: {make_msgid(domain="mx.ts.example.org")}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"

--dsn-boundary
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.ts.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{failed}>: host mx.example.org said: 550 5.1.1 User unknown

--dsn-boundary
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.ts.example.org

Final-Recipient: rfc822; {failed}
Original-Recipient: rfc822;{failed}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User unknown

--dsn-boundary
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: RCM Technical Secretariat <officer@ts.example.org>
To: {failed}
Subject: Request for input
Message-ID: {request}

--dsn-boundary--
""".replace("\n", "\r\n").encode()


def subject_only(sender: str = "focal@sv.example.org", instance: str = "theme-1") -> bytes:
    """No thread headers, only the instance id in the subject."""
    msg = _base(sender, f"Aporte de El Salvador para {instance}", None)
    msg.set_content("Buenos días, adjunto nuestro aporte.\n")
    msg.add_attachment(docx_bytes("Aporte de El Salvador"), maintype="application",
                       subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                       filename="aporte-el-salvador.docx")
    return bytes(msg)


def html_only(request: str | None, sender: str, html: str) -> bytes:
    msg = _base(sender, "Re: Request for input", request)
    msg.set_content(html, subtype="html")
    return bytes(msg)


def malformed() -> bytes:
    """A multipart message whose boundary never comes."""
    return (b"From: focal@ni.example.org\r\nTo: officer@ts.example.org\r\nSubject: aporte\r\n"
            b"Message-ID: <broken-1@ni.example.org>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=\"never-there\"\r\n\r\n"
            b"\xff\xfe garbage without any boundary\r\n")


def oversized(request: str | None, size: int, sender: str = "focal@do.example.org") -> bytes:
    msg = _base(sender, "Re: Request for input (big)", request)
    msg.set_content("Our input, with the annexes.\n")
    msg.add_attachment(b"\x00" * size, maintype="application", subtype="pdf", filename="annexes.pdf")
    return bytes(msg)


def drop(folder: Path, *messages: bytes) -> None:
    """Deliver messages into the Maildir `folder` (created if missing), as a mail client's export."""
    box = mailbox.Maildir(folder, create=True)
    for raw in messages:
        box.add(raw)
