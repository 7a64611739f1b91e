"""The status page: `rcmflow serve` seen in a real headless Chromium, its access rule,
the documents it serves and refuses, and `rcmflow report --html`.

The server runs in a thread on 127.0.0.1 with a free port, on the demo's database
played on to July 2017: theme-4 is collecting input, its deadline (7 July) has
passed, and only a few countries have answered. Chromium is only ever pointed at
that loopback address. Screenshots are kept in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import html
import http.client
import shutil
import struct
import subprocess
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from rcmflow.errors import DatabaseError
from rcmflow.default_plugins.web.access import access_allowed, presented_token
from rcmflow.default_plugins.web.app import StatusApp, make_server
from rcmflow.default_plugins.web.files import resolve_output
from rcmflow.default_plugins.web.links import Links
from rcmflow.default_plugins.web.pages import Pages

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))),
                None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason="no chromium binary on PATH (CI installs Debian's chromium)")
SCRIPT = "<script>alert(1)</script>"
TOKEN = "k3y-0f-the-secretariat-2017"
ANSWERED = {"MX": "submitted", "CA": "submitted", "GT": "drafting"}


# --- the database and the server ------------------------------------------------------


@pytest.fixture
def played(demo_data, make_engine, home):
    """The demo, then theme-4 opened in June 2017 and seen on 10 July, after its deadline,
    once `tick` has reminded the countries that are late."""
    definition = home / "workflows" / "thematic-consultation.yaml"
    source = yaml.safe_load(definition.read_text(encoding="utf-8"))
    source["track"]["reminders"] = [{"every": "3d", "actions": [{"log": "late"}]}]  # whatever the file says
    definition.write_text(yaml.safe_dump(source, sort_keys=False, allow_unicode=True), encoding="utf-8")
    clock = demo_data.clock()
    engine = make_engine(clock=clock)
    clock.set("2017-06-05")
    engine.fire("theme-4", "open")
    engine.acting_as("mx-focal").fire("theme-4", "submit", "MX", note=SCRIPT, values={"input": f"{SCRIPT} & more"})
    engine.acting_as("ca-focal").fire("theme-4", "submit", "CA")
    engine.acting_as("gt-focal").fire("theme-4", "start_drafting", "GT", note="draft under way")
    clock.set("2017-07-10")
    assert len(engine.tick().reminded) == 9
    out = home / "out" / "theme-4"
    out.mkdir(parents=True, exist_ok=True)
    (out / "regional-input-theme-4.html").write_text("<p>regional input</p>", encoding="utf-8")
    return engine


@pytest.fixture
def server(played):
    """The status server on a free loopback port: (base URL, engine)."""
    httpd = make_server(StatusApp(played, token=TOKEN), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", played
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def get(base: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET `path` exactly as written (no normalising of ..), from the loopback server."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


# --- reading the DOM ----------------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]):
        self.tag, self.attrs, self.children = tag, attrs, []

    @property
    def text(self) -> str:
        """Like the DOM's textContent, with runs of white space made one space."""
        return " ".join("".join(c if isinstance(c, str) else c.raw_text for c in self.children).split())

    @property
    def raw_text(self) -> str:
        return "".join(c if isinstance(c, str) else c.raw_text for c in self.children)

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str, **attrs: str) -> list["Node"]:
        return [n for n in self.iter() if n.tag == tag and all(n.attrs.get(k.replace("_", "-")) == v
                                                               for k, v in attrs.items())]

    def find(self, tag: str, **attrs: str) -> "Node":
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag} {attrs}> elements"
        return found[0]

    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class DOM(HTMLParser):
    """A small tree of the page, enough to find cells by their data attributes."""

    VOID = {"meta", "link", "br", "hr", "img", "input", "col", "base", "source", "wbr"}

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def chromium(tmp_path: Path, url: str, *args: str) -> str:
    """Run headless Chromium on `url` (always on 127.0.0.1) and return its stdout."""
    profile = tmp_path / f"chromium-profile-{len(list(tmp_path.glob('chromium-profile-*')))}"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions", "--no-default-browser-check", "--no-proxy-server",
        # No name resolves to anything but the loopback server: nothing can leave the machine.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}", *args, url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def backend(db_url: str) -> str:
    return db_url.split(":", 1)[0].split("+", 1)[0]


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


# --- in Chromium --------------------------------------------------------------------------


@needs_chromium
def test_the_matrix_in_chromium(server, tmp_path, db_url):
    base, engine = server
    dom = DOM(chromium(tmp_path, base + "/", "--dump-dom")).root
    assert dom.find("h1").text == "RCM roadmap — status"
    assert not dom.find_all("meta", http_equiv="refresh")  # the reader turns it on, and off
    assert dom.find("html").attrs["lang"] == "en"

    # every member against theme-4: the answers, and the overdue marks of the rest
    for country in ("BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"):
        cell = dom.find("td", data_participant=country, data_instance="theme-4")
        state = ANSWERED.get(country, "requested")
        assert cell.attrs["data-state"] == state
        assert cell.text.startswith(state)
        late = state != "submitted"  # drafting is not an answer either
        assert ("overdue" in cell.classes()) is late, (country, cell.classes())
        assert ("OVERDUE" in cell.text) is late, (country, cell.text)
        assert ("reminded Jul 10, 2017" in cell.text) is late, (country, cell.text)
    assert dom.find("td", data_participant="MX", data_instance="theme-4").text == "submitted"
    assert dom.find("td", data_participant="BZ", data_instance="theme-4").text == "requested OVERDUE reminded Jul 10, 2017"
    assert "met" in dom.find("td", data_participant="MX", data_instance="theme-4").classes()
    # planned steps are not late, whatever their tracks say
    assert dom.find("td", data_participant="BZ", data_instance="theme-5").text == "requested"
    assert "OVERDUE" not in dom.find("td", data_participant="BZ", data_instance="theme-5").text

    heading = dom.find("th", data_instance="theme-4")
    assert "due Jul 7, 2017" in heading.text and "collecting_input" in heading.text
    summary = dom.find("tr", **{"class": "summary"}).find("td", data_instance="theme-4")
    next_step = dom.find("tr", **{"class": "next"}).find("td", data_instance="theme-4")
    assert summary.text == "8/11 requested, 2/11 submitted, 1/11 drafting (9 overdue)"
    assert ("close_collection: waiting for BZ, CR, DO, SV, GT, HN, NI, PA, US: 2 of 11 tracks in "
            "submitted|accepted|declined") in next_step.text
    assert "can be taken now: cancel" in next_step.text
    review = dom.find("tr", **{"class": "next"}).find("td", data_instance="review-2017")
    assert "compile: waiting for theme-4 (collecting_input), theme-5 (planned), theme-6 (planned)" in review.text

    # the list has every instance, finished ones too, each linking to its page
    listed = {row.attrs["data-instance"]: row for row in dom.find_all("tr") if "data-instance" in row.attrs}
    assert {v.id for v in engine.status()} <= set(listed)
    assert "adopted" in listed["declaration-2017"].text and "finished" in listed["declaration-2017"].classes()
    assert listed["declaration-2017"].find("a").attrs["href"] == "/instances/declaration-2017"

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"status-{backend(db_url)}.png"
    shot.unlink(missing_ok=True)
    chromium(tmp_path, base + "/", f"--screenshot={shot}", "--window-size=1400,1000", "--hide-scrollbars")
    print(f"screenshot of the status page: {shot}")
    assert png_size(shot) == (1400, 1000)
    assert 20_000 < shot.stat().st_size < 5_000_000


@needs_chromium
def test_the_instance_page_in_chromium(server, tmp_path, db_url):
    base, engine = server
    page = chromium(tmp_path, base + "/instances/theme-4", "--dump-dom")
    dom = DOM(page).root
    assert "theme-4" in dom.find("h2").text and "Thematic consultation" in dom.find("h2").text

    events = engine.history("theme-4")
    rows = [[td.text for td in row.find_all("td")] for row in dom.find_all("tr", **{"class": "event"})]
    assert [int(r[0]) for r in rows] == [e.seq for e in events]
    assert [(r[2], r[3], r[4], r[5], r[6]) for r in rows] == [
        (e.actor, e.trigger, e.source or "", e.dest, e.participant or "") for e in events]
    submitted = next(r for r in rows if r[3] == "submit" and r[6] == "MX")
    assert submitted[1].startswith("Jun 5, 2017 ") and submitted[2] == "mx-focal"
    assert any(r[3] == "start_drafting" and r[7] == "draft under way" for r in rows)

    # what a country typed is text in the page, never an element
    assert not dom.find_all("script")
    assert html.escape(SCRIPT, quote=False) in page and SCRIPT not in page
    assert submitted[7] == SCRIPT
    assert f"input: {SCRIPT} & more" in dom.find("tr", data_participant="MX").text

    options = {r.attrs["data-trigger"]: [td.text for td in r.find_all("td")]
               for r in dom.find_all("tr") if "data-trigger" in r.attrs}
    assert options["close_collection"][:4] == ["close_collection", "consolidating", "secretariat", "no"]
    assert options["close_collection"][4].startswith("waiting for BZ, CR, DO, SV, GT, HN, NI, PA, US")
    assert options["cancel"][3] == "yes"
    reminded = [r for r in rows if r[3] == "remind"]
    assert sorted(r[6] for r in reminded) == ["BZ", "CR", "DO", "GT", "HN", "NI", "PA", "SV", "US"]
    assert dom.find("tr", data_participant="NI").find_all("td")[2].text == "Jul 10, 2017"
    assert "OVERDUE" in dom.find("td", data_participant="BZ", data_instance="theme-4").text
    # the diagram: Graphviz's SVG with the current state filled, or the Mermaid text
    [diagram] = [n for n in dom.iter() if "diagram" in n.classes()]
    if shutil.which("dot"):
        current = [g for g in diagram.find_all("g") if "node" in g.classes()
                   and [t.text for t in g.find_all("title")] == ["collecting_input"]]
        assert current and current[0].find_all("path")[0].attrs.get("fill") == "#1f4e79"
    else:
        assert "class collecting_input current" in diagram.text
    assert "/out/theme-4/regional-input-theme-4.html" in [
        a.attrs["href"] for a in dom.find("ul", **{"class": "documents"}).find_all("a")]

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"instance-theme-4-{backend(db_url)}.png"
    shot.unlink(missing_ok=True)
    chromium(tmp_path, base + "/instances/theme-4", f"--screenshot={shot}", "--window-size=1400,1000",
             "--hide-scrollbars")
    print(f"screenshot of the instance page: {shot}")
    assert png_size(shot) == (1400, 1000) and shot.stat().st_size > 20_000


# --- without a browser ----------------------------------------------------------------------


@pytest.mark.parametrize("client", ["127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1"])
def test_loopback_clients_are_let_in(client):
    assert access_allowed(client, {"Host": "127.0.0.1:8000"}, "", None)
    assert access_allowed(client, {"Host": "localhost:8000"}, "", TOKEN)
    assert access_allowed(client, {"host": "[::1]:8000"}, "", None)
    assert access_allowed(client, {}, "", None)  # HTTP/1.0 without a Host header


@pytest.mark.parametrize("client", ["203.0.113.7", "192.168.1.20", "10.0.0.3", "2001:db8::5", "::ffff:198.51.100.9",
                                    "0.0.0.0", "", "not-an-address"])
def test_other_clients_need_the_token(client):
    assert not access_allowed(client, {"Host": "rcm.example.org"}, "", None)
    assert not access_allowed(client, {"Host": "rcm.example.org"}, "", TOKEN)
    assert not access_allowed(client, {}, "token=wrong", TOKEN)
    assert not access_allowed(client, {"Authorization": "Bearer wrong"}, f"token={TOKEN[:-1]}", TOKEN)
    assert not access_allowed(client, {}, "token=", "")  # an empty token in the file is no token
    assert not access_allowed(client, {"Authorization": f"Basic {TOKEN}"}, "", TOKEN)
    assert access_allowed(client, {}, f"token={TOKEN}", TOKEN)
    assert access_allowed(client, {"Host": "rcm.example.org"}, f"refresh=1&token={TOKEN}", TOKEN)
    assert access_allowed(client, {"Authorization": f"Bearer {TOKEN}"}, "", TOKEN)
    assert access_allowed(client, {"authorization": f"bearer  {TOKEN} "}, "", TOKEN)
    # the header wins over the query string
    assert not access_allowed(client, {"Authorization": "Bearer wrong"}, f"token={TOKEN}", TOKEN)


def test_a_loopback_client_naming_another_host_is_treated_as_remote():
    """A local reverse proxy, or a web page whose DNS name was rebound to 127.0.0.1,
    reaches the server from loopback but under another name: it needs the token."""
    assert not access_allowed("127.0.0.1", {"Host": "rcm.example.org"}, "", None)
    assert not access_allowed("127.0.0.1", {"Host": "attacker.example:8000"}, "", TOKEN)
    assert access_allowed("127.0.0.1", {"Host": "rcm.example.org"}, f"token={TOKEN}", TOKEN)
    assert presented_token({"Authorization": "Bearer abc"}, "token=def") == "abc"
    assert presented_token({}, "a=1&token=def") == "def"
    assert presented_token({}, "") is None


def wsgi(app: StatusApp, path: str, client: str, query: str = "", method: str = "GET", **headers: str):
    """Call the application as the server would, for a client that never connects."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "REMOTE_ADDR": client,
               "HTTP_HOST": "rcm.example.org", **{f"HTTP_{k.upper()}": v for k, v in headers.items()}}
    answer = {}

    def start_response(status, response_headers):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(response_headers)

    body = b"".join(app(environ, start_response))
    return answer["status"], answer["headers"], body.decode("utf-8", "replace")


def test_the_application_refuses_remote_clients_without_the_token(played):
    app = StatusApp(played, token=TOKEN)
    status, headers, body = wsgi(app, "/", "203.0.113.7")
    assert status == 403 and "token" in body and "theme-4" not in body
    status, _, body = wsgi(app, "/", "203.0.113.7", query=f"token={TOKEN}")
    assert status == 200 and 'data-instance="theme-4"' in body
    # links keep the token, so that the visitor can follow them
    assert f'href="/instances/theme-4?token={TOKEN}"' in body
    status, _, body = wsgi(app, "/instances/theme-4", "203.0.113.7", authorization=f"Bearer {TOKEN}")
    assert status == 200 and 'href="/?token=' not in body
    assert wsgi(StatusApp(played), "/", "203.0.113.7", query=f"token={TOKEN}")[0] == 403
    status, headers, _ = wsgi(app, "/", "127.0.0.1", method="POST", host="127.0.0.1:8000")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    status, headers, body = wsgi(app, "/", "127.0.0.1", method="HEAD", host="localhost:8000")
    assert (status, body) == (200, "") and int(headers["Content-Length"]) > 1000


def test_documents_outside_out_are_refused(server, home):
    base, _ = server
    (home / "out" / "theme-4" / "escape").symlink_to(home / "workflows" / "members.yaml")
    status, headers, body = get(base, "/out/theme-4/regional-input-theme-4.html")
    assert (status, body) == (200, b"<p>regional input</p>")
    assert headers["content-disposition"].startswith("attachment;") and headers["content-security-policy"] == "sandbox"
    for path in ("/out/../rcmflow.db", "/out/%2e%2e/rcmflow.db", "/out/theme-4/../../rcmflow.db",
                 "/out/..%2Fworkflows%2Fmembers.yaml", "/out/theme-4/escape", "/out/theme-4", "/out/",
                 "/out//etc/passwd", "/out/theme-4/%00", "/out/theme-4/missing.docx", "/rcmflow.db"):
        status, _, body = get(base, path)
        assert status == 404, path
        assert b"Traceback" not in body and b"SQLite" not in body
    out = home / "out"
    assert resolve_output(out, "theme-4/regional-input-theme-4.html") is not None
    assert resolve_output(out, "../rcmflow.db") is None and resolve_output(out, "/etc/passwd") is None


def test_unknown_pages_and_failures_show_no_traceback(server, monkeypatch):
    base, engine = server
    status, headers, body = get(base, "/instances/theme-9")
    assert status == 404 and "unknown instance 'theme-9'; instances: " in html.unescape(body.decode())
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert get(base, "/instances/<b>x</b>")[2].count(b"<b>") == 0
    assert get(base, "/nothing/here")[0] == 404

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(engine, "status", broken)
    status, _, body = get(base, "/")
    assert status == 500 and b"Something went wrong" in body
    assert b"Traceback" not in body and b"secret internals" not in body

    def unreachable(*args, **kwargs):
        raise DatabaseError("cannot open the database postgresql://rcm:secret@db/rcmflow")

    monkeypatch.setattr(engine, "status", unreachable)
    status, _, body = get(base, "/")
    assert status == 503 and b"cannot be read just now" in body and b"secret" not in body


def test_the_report_is_one_self_contained_file(played, rcmflow, tmp_path, home):
    target = tmp_path / "status.html"
    result = rcmflow("report", "--html", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"wrote {target}")
    text = target.read_text(encoding="utf-8")
    dom = DOM(text).root
    assert dom.find("h1").text == "RCM roadmap — status"
    assert not dom.find_all("script") and not dom.find_all("link") and not dom.find_all("meta", http_equiv="refresh")
    assert all(a.attrs["href"].startswith("#") for a in dom.find_all("a")), "the report links only within itself"
    assert not [n for n in dom.iter() if "src" in n.attrs]
    assert dom.find("style").text and "@import" not in text and "url(" not in text
    # the matrix, on the real clock: the July 2017 deadline has long passed
    matrix = dom.find("table", **{"class": "matrix"})
    assert matrix.find("td", data_participant="MX", data_instance="theme-4").text == "submitted"
    assert "OVERDUE" in matrix.find("td", data_participant="NI", data_instance="theme-4").text
    # the detail of every open instance, with its history; finished ones only in the list
    open_ids = [v.id for v in played.status() if not played.is_final(v)]
    assert [s.attrs["id"] for s in dom.find_all("section") if s.attrs.get("id")] == [f"instance-{i}" for i in open_ids]
    assert len(dom.find_all("a", href="#instance-theme-4")) == 2  # from the matrix and from the list
    assert not dom.find("tr", data_instance="declaration-2017").find_all("a")
    assert len(dom.find("section", id="instance-theme-4").find_all("tr", **{"class": "event"})) == len(
        played.history("theme-4"))
    assert html.escape(SCRIPT, quote=False) in text and SCRIPT not in text
    assert "regional-input-theme-4.html" in text  # named, not linked


def test_serve_says_when_it_cannot_listen(rcmflow, engine, home):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = rcmflow("serve", "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    (home / "rcmflow.toml").write_text("[serve]\ntoken = 12345\n", encoding="utf-8")
    result = rcmflow("serve")
    assert result.exit_code == 1 and "[serve] token must be a string" in result.stderr


def test_pages_render_on_an_empty_database(engine):
    text = Pages(engine).overview(Links())
    assert "No step is started yet" in text and "No open step has participants" in text


# --- in Spanish and in English ----------------------------------------------------------------


def test_the_page_in_spanish_when_asked_or_when_the_browser_prefers_it(server):
    base, _engine = server
    status, _headers, body = get(base, f"/?token={TOKEN}&lang=es")
    dom = DOM(body.decode("utf-8")).root
    assert status == 200 and dom.find("html").attrs["lang"] == "es"
    assert dom.find("h1").text == "Hoja de ruta de la CRM — estado"
    assert "Quién ha enviado qué" in dom.find("h2", id="matrix-title").text
    cell = dom.find("td", data_participant="BZ", data_instance="theme-4")
    assert cell.text == "solicitado VENCIDO recordado el 10 jul 2017"
    assert cell.attrs["data-state"] == "requested"  # the name commands take
    assert "recibiendo aportes" in dom.find("th", data_instance="theme-4").text
    assert "plazo 7 jul 2017" in dom.find("th", data_instance="theme-4").text
    assert "Belice" in dom.find("th", data_participant="BZ").text
    # following a link keeps the language (and the token)
    link = dom.find("tr", data_instance="theme-4").find("a").attrs["href"]
    assert "lang=es" in link and f"token={TOKEN}" in link
    status, _headers, body = get(base, link)
    assert DOM(body.decode("utf-8")).root.find("html").attrs["lang"] == "es" and "Historial" in body.decode()
    english = next(a for a in dom.find_all("a") if a.attrs.get("hreflang") == "en")
    assert "lang=en" in english.attrs["href"] and english.text == "English"

    _status, _headers, body = get(base, f"/?token={TOKEN}", {"Accept-Language": "es-SV,es;q=0.9,en;q=0.5"})
    assert '<html lang="es">' in body.decode("utf-8")
    _status, _headers, body = get(base, f"/?token={TOKEN}", {"Accept-Language": "pt-BR,en;q=0.5"})
    assert '<html lang="en">' in body.decode("utf-8")
    # an error page is in the reader's language too
    status, _headers, body = get(base, f"/nowhere?token={TOKEN}&lang=es")
    assert status == 404 and "No existe la página /nowhere." in body.decode("utf-8")


def test_the_page_speaks_to_readers_not_to_the_command_line(rcmflow, engine):
    from rcmflow.default_plugins.web.pages import for_readers

    rcmflow("quickstart")
    blocked = {o.trigger: o.reason for o in engine.triggers("declaration-2017")}
    assert "give it with --set-file text.en=FILE" in blocked["share_base_text"]  # what the command line says
    page = Pages(engine).instance("declaration-2017", Links())
    assert "give it with --set" not in page and "there is no text yet" in page
    assert for_readers("text not set: give it with --set text=VALUE") == "text not set"
    assert for_readers("translation pending: the English text (en) since revision 3: give it with --set-file "
                       "text.en=FILE; an objection stands: GT") == ("translation pending: the English text (en) "
                                                                    "since revision 3; an objection stands: GT")
    assert for_readers("waiting for BZ: 1 of 2 tracks in submitted") == "waiting for BZ: 1 of 2 tracks in submitted"


def test_the_report_in_the_home_language(played, rcmflow, tmp_path, home):
    (home / "rcmflow.toml").write_text('language = "es"\n', encoding="utf-8")
    target = tmp_path / "estado.html"
    assert rcmflow("report", "--html", str(target)).exit_code == 0
    dom = DOM(target.read_text(encoding="utf-8")).root
    assert dom.find("html").attrs["lang"] == "es" and dom.find("h1").text == "Hoja de ruta de la CRM — estado"
    assert "informe escrito por rcmflow report --html" in dom.find("footer").text
