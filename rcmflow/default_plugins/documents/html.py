"""The HTML writer: one standalone page (inline CSS, UTF-8) from the Markdown tokens.

The page says its edition's language (`<html lang="es">`); a country's text in
another language is a `<div lang>` or `<span lang>` of its own (see `markdown`).
"""

from __future__ import annotations

import datetime as dt
from html import escape

from markdown_it.token import Token

from rcmflow.default_plugins.documents.markdown import PARSER


def to_html(tokens: list[Token], title: str, now: dt.datetime, language: str = "en") -> bytes:
    """One standalone page: markdown-it escapes every piece of text it writes."""
    body = PARSER.renderer.render(tokens, PARSER.options, {})
    page = HTML_PAGE.format(title=escape(title), generated=escape(now.isoformat(timespec="seconds")), body=body,
                            language=escape(language))
    return page.encode("utf-8")


HTML_PAGE = """\
<!DOCTYPE html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="rcmflow">
<meta name="date" content="{generated}">
<title>{title}</title>
<style>
body {{ font-family: "Segoe UI", Calibri, Arial, sans-serif; line-height: 1.5; color: #1d1d1d;
       max-width: 52rem; margin: 2rem auto; padding: 0 1rem; }}
h1 {{ font-size: 1.8rem; border-bottom: 2px solid #1f4e79; padding-bottom: .3rem; color: #1f4e79; }}
h2 {{ font-size: 1.4rem; margin-top: 2rem; color: #1f4e79; }}
h3 {{ font-size: 1.15rem; margin-top: 1.5rem; }}
h4, h5, h6 {{ font-size: 1rem; }}
table {{ border-collapse: collapse; width: 100%; margin: 1rem 0; }}
th, td {{ border: 1px solid #b4b4b4; padding: .35rem .6rem; text-align: left; vertical-align: top; }}
th {{ background: #e8eef5; }}
@media print {{ body {{ margin: 0; max-width: none; }} }}
</style>
</head>
<body>
<main>
{body}</main>
</body>
</html>
"""
