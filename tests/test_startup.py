"""The built-in plugins load with every command, so loading them stays cheap: the
document, calendar and web libraries are imported when a build, an export or a page
needs them, never by `rcmflow --help`."""

from __future__ import annotations

import json
import subprocess
import sys

SLOW = ("jinja2", "docx", "markdown_it", "icalendar", "wsgiref.simple_server", "waitress")


def test_loading_the_plugins_imports_no_document_calendar_or_web_library(tmp_path):
    probe = ("import json, sys; from pathlib import Path; from rcmflow.plugins import load_plugins; "
             f"load_plugins(Path(sys.argv[1]), entry_points=False); "
             f"print(json.dumps([m for m in {SLOW!r} if m in sys.modules]))")
    result = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []
