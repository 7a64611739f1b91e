"""The status page behind a reverse proxy, and under load: the real waitress server on
a free loopback port, real HTTP requests.

Every request of these tests comes from 127.0.0.1, as it would through a proxy on the
same machine: what the forwarded headers say is what decides.
"""

from __future__ import annotations

import re

import http.client
import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rcmflow.default_plugins.web.app import StatusApp, make_server
from rcmflow.default_plugins.web.proxies import client_address
from tests.test_web import TOKEN, get, played  # noqa: F401  (played: the fixture)

REMOTE = "203.0.113.7"
LOOPBACK_PROXY = [ipaddress.ip_network("127.0.0.1"), ipaddress.ip_network("10.0.0.0/8")]


@pytest.fixture
def serve():
    """Start the real server for an application on a free loopback port: its base URL."""
    started = []

    def start(app: StatusApp, threads: int | None = None) -> str:
        server = make_server(app, "127.0.0.1", 0, threads)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(10)
        assert not thread.is_alive()


def looks(base: str, headers: dict[str, str], query: str = "") -> int:
    """The status of GET / with these headers; a refusal must show nothing of the roadmap."""
    status, _, body = get(base, "/" + query, headers)
    if status == 403:
        assert b"token" in body and b"data-instance" not in body and b"Instances" not in body
    else:
        assert status == 200 and b"RCM roadmap" in body
    return status


FORWARDED_REMOTE = [
    {"X-Forwarded-For": REMOTE},
    {"X-Forwarded-For": f"127.0.0.1, {REMOTE}"},
    {"X-Forwarded-For": f"{REMOTE}, 127.0.0.1"},  # a proxy that is not trusted: every hop counts
    {"X-Forwarded-For": f"{REMOTE}:51234"},
    {"Forwarded": f"for={REMOTE};proto=https;by=127.0.0.1"},
    {"Forwarded": 'for="[2001:db8:cafe::17]:4711"'},
    {"Forwarded": f"for=127.0.0.1, for={REMOTE}"},
    {"X-Forwarded-For": "127.0.0.1", "Forwarded": f"for={REMOTE}"},  # the more remote one decides
    {"X-Real-IP": REMOTE}, {"X-Real-IP": REMOTE, "X-Forwarded-For": "127.0.0.1"},
]


@pytest.mark.parametrize("headers", FORWARDED_REMOTE)
def test_a_remote_client_behind_a_local_proxy_needs_the_token(serve, engine, headers):
    base = serve(StatusApp(engine, token=TOKEN))
    assert looks(base, {}) == 200  # the same machine, no proxy: in
    assert looks(base, headers) == 403
    assert looks(base, headers, f"?token={TOKEN}") == 200
    assert looks(base, {**headers, "Authorization": f"Bearer {TOKEN}"}) == 200
    assert looks(base, headers, "?token=wrong") == 403
    assert looks(serve(StatusApp(engine)), headers, f"?token={TOKEN}") == 403  # no token set: nobody


@pytest.mark.parametrize("headers", [{"X-Forwarded-For": "127.0.0.1"}, {"X-Forwarded-For": "::1, 127.0.0.1"},
                                     {"Forwarded": 'for="[::1]:8123"'}])
def test_a_browser_on_this_machine_through_the_proxy_is_let_in(serve, engine, headers):
    assert looks(serve(StatusApp(engine, token=TOKEN)), headers) == 200


MALFORMED = [
    {"X-Forwarded-For": ""}, {"X-Forwarded-For": "unknown"}, {"X-Forwarded-For": "127.0.0.1,"},
    {"X-Forwarded-For": "127.0.0.1 127.0.0.2"}, {"X-Forwarded-For": "127.0.0.1:99999"},
    {"X-Forwarded-For": "localhost"}, {"X-Forwarded-For": "[::1"}, {"X-Forwarded-For": "127.0.0.1, , ::1"},
    {"Forwarded": "for=unknown"}, {"Forwarded": "for=_hidden"}, {"Forwarded": "for=127.0.0.1;for=::1"},
    {"Forwarded": 'for="127.0.0.1'}, {"Forwarded": "proto=https"}, {"Forwarded": "for=[::1]"},
    {"Forwarded": "for=127.0.0.1,"}, {"Forwarded": "for 127.0.0.1"}, {"Forwarded": ""},
    {"Forwarded": "for=127.0.0.1;;"}, {"X-Forwarded-For": "127.0.0.1", "Forwarded": "for=unknown"},
    {"X-Real-IP": "unknown"},
]


@pytest.mark.parametrize("trusted", [(), LOOPBACK_PROXY], ids=["untrusted", "trusted"])
def test_malformed_forwarded_headers_are_refused(serve, engine, trusted):
    base = serve(StatusApp(engine, token=TOKEN, trusted_proxies=trusted))
    for headers in MALFORMED:
        assert looks(base, headers) == 403, headers
        assert looks(base, headers, f"?token={TOKEN}") == 200, headers


def test_with_trusted_proxies_the_forwarded_address_decides(serve, engine):
    trusting = serve(StatusApp(engine, token=TOKEN, trusted_proxies=LOOPBACK_PROXY))
    untrusting = serve(StatusApp(engine, token=TOKEN))
    only_lan = serve(StatusApp(engine, token=TOKEN, trusted_proxies=LOOPBACK_PROXY[1:]))
    cases = [  # (headers, through trusted proxies, through a proxy that is not trusted)
        ({"X-Forwarded-For": REMOTE}, 403, 403),
        ({"Forwarded": f"for={REMOTE}, for=10.0.0.2"}, 403, 403),
        # the right-most address that is not a trusted proxy: ::1, seen by the LAN proxy
        ({"X-Forwarded-For": "::1, 10.0.0.2"}, 200, 403),
        # what lies to the left of it is the client's own word, and is not taken
        ({"X-Forwarded-For": f"{REMOTE}, ::1, 10.0.0.2"}, 200, 403),
        ({"Forwarded": 'for="[::1]", for=10.0.0.2'}, 200, 403),
        ({"X-Forwarded-For": f"::1, {REMOTE}, 10.0.0.2"}, 403, 403),
        ({"X-Forwarded-For": "127.0.0.1"}, 200, 200),  # only trusted hops: the left-most is the client
    ]
    for headers, trusted, untrusted in cases:
        assert looks(trusting, headers) == trusted, headers
        assert looks(untrusting, headers) == untrusted, headers
        # 127.0.0.1, the peer, is not a trusted proxy there: the headers can only make it remote
        assert looks(only_lan, headers) == untrusted, headers
        assert looks(trusting, headers, f"?token={TOKEN}") == 200


@pytest.mark.parametrize("peer, headers, expected", [
    ("127.0.0.1", {}, "127.0.0.1"),
    ("198.51.100.1", {"X-Forwarded-For": "127.0.0.1"}, "198.51.100.1"),  # a remote peer stays remote
    ("::ffff:127.0.0.1", {"x-forwarded-for": "::ffff:10.1.1.1"}, "10.1.1.1"),
    ("127.0.0.1", {"X-FORWARDED-FOR": "[2001:db8::1]:80"}, "2001:db8::1"),
    ("127.0.0.1", {"Forwarded": 'For="[2001:db8::1]";proto=http'}, "2001:db8::1"),
    ("127.0.0.1", {"Forwarded": "for=192.0.2.60;proto=http;by=203.0.113.43"}, "192.0.2.60"),
    ("127.0.0.1", {"Forwarded": 'for="_gazonk"'}, ""),
    ("not-an-address", {"X-Forwarded-For": "127.0.0.1"}, ""),
])
def test_the_client_address(peer, headers, expected):
    assert client_address(peer, headers) == expected


def test_trusted_proxies_in_the_file(rcmflow, engine, home, db_url):
    """`rcmflow serve` reads [serve] trusted_proxies and threads: a bad entry is one line."""
    settings = home / "rcmflow.toml"
    for value, named in [('["127.0.0.1", "10.0.0.300/8"]', "'10.0.0.300/8'"), ('["localhost"]', "'localhost'"),
                         ('"127.0.0.1"', "must be a list"), ("[1]", "(got 1)"), ('["10.0.0.1/99"]', "10.0.0.1/99")]:
        settings.write_text(f"[serve]\ntrusted_proxies = {value}\n", encoding="utf-8")
        result = rcmflow("serve", "--port", "0")
        assert result.exit_code == 1, value
        # the shape (with its line) is the settings schema's; each address, the web plugin's
        assert re.match(r"Error: rcmflow\.toml(:2)?: \[serve\] trusted_proxies", result.stderr), result.stderr
        assert named in result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    for value in ("0", "65", '"many"', "true", "2.5"):
        settings.write_text(f"[serve]\nthreads = {value}\n", encoding="utf-8")
        result = rcmflow("serve", "--port", "0")
        assert result.exit_code == 1 and result.stderr.count("\n") == 1, value
        assert "[serve] threads must be a whole number from 1 to 64" in result.stderr


def test_rcmflow_serve_behind_a_trusted_proxy_until_ctrl_c(engine, home, db_url):
    """The real command in its own process: its line, the proxy rule from rcmflow.toml,
    200 for this machine, 403 for a remote client it forwards, and Ctrl-C."""
    (home / "rcmflow.toml").write_text(f'[serve]\ntoken = "{TOKEN}"\ntrusted_proxies = ["127.0.0.1"]\nthreads = 4\n',
                                       encoding="utf-8")
    command = shutil.which("rcmflow", path=str(Path(sys.executable).parent)) or "rcmflow"
    process = subprocess.Popen([command, "--home", str(home), "--db", db_url, "serve", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "RCMFLOW_ENTRY_POINTS": "0"})
    try:
        line = process.stdout.readline()
        assert line.startswith("RCM roadmap status on http://127.0.0.1:") and line.endswith("(Ctrl-C stops it)\n")
        base = line.split()[4].rstrip("/")
        assert looks(base, {}) == 200
        assert looks(base, {"X-Forwarded-For": f"{REMOTE}, 127.0.0.1"}) == 403
        assert looks(base, {"X-Forwarded-For": "127.0.0.1"}, f"?token={TOKEN}") == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (process.returncode, out) == (0, "stopped\n")
    assert "Traceback" not in err


def test_two_hundred_browsers_at_once_are_all_answered(serve, played):  # noqa: F811
    """200 requests for / at the same moment, each on its own connection, on the
    demo's database: every one answered with the page, none reset."""
    base = serve(StatusApp(played, token=TOKEN))
    host, port = base.removeprefix("http://").split(":")
    count = 200
    barrier = threading.Barrier(count)
    answers: list[object] = [None] * count

    def browse(i: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=300)
        try:
            connection.connect()  # all 200 connections open, then all 200 requests at once
            barrier.wait(120)
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read()
            answers[i] = response.status if b'data-instance="theme-4"' in body else f"{response.status}, no page"
        except Exception as exc:  # what the test reports: a reset, a timeout
            answers[i] = repr(exc)
        finally:
            connection.close()

    browsers = [threading.Thread(target=browse, args=(i,)) for i in range(count)]
    for browser in browsers:
        browser.start()
    for browser in browsers:
        browser.join(600)
    failed = [a for a in answers if a != 200]
    assert not failed, f"{len(failed)} of {count} not answered: {sorted(set(map(str, failed)))[:5]}"
