"""The mailroom on a real IMAP server: Debian's Dovecot, started unprivileged on a free
loopback port with a generated configuration (one static test user, a Maildir in a
temporary folder). Skipped, saying why, when `dovecot` is not installed (`.ci/run`
installs it)."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests import mailcorpus as corpus
from tests.conftest import one_line
from tests.test_mail import inbox, requests, tracks

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
pytestmark = pytest.mark.skipif(DOVECOT is None, reason="dovecot is not installed (apt-get install dovecot-imapd)")
USER, PASSWORD = "rcm", "a-test-password"

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def imap_server():
    """Dovecot in the foreground; its services run as this user, or as `nobody` under root."""
    runner = pwd.getpwuid(os.getuid()) if os.getuid() != 0 else pwd.getpwnam("nobody")
    root = Path(tempfile.mkdtemp(prefix="rcmflow-dovecot-"))  # outside pytest's 0700 folders: `nobody` reads it
    root.chmod(0o755)
    for folder in ("mail", "home"):
        (root / folder).mkdir()
        os.chown(root / folder, runner.pw_uid, runner.pw_gid)
    port = free_port()
    group = subprocess.run(["id", "-gn", runner.pw_name], capture_output=True, text=True).stdout.strip()
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, user=runner.pw_name, group=group, port=port,
                                                     uid=runner.pw_uid, gid=runner.pw_gid, password=PASSWORD))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")])
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"dovecot did not listen on {port}: {(root / 'dovecot.log').read_text()}")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def account(imap_server, home, monkeypatch):
    """rcmflow.toml pointing at the test account, its password in the environment, and a
    client to deliver messages to it and look at their flags."""
    from imapclient import IMAPClient

    (home / "rcmflow.toml").write_text(f'[mail.inbound]\nhost = "127.0.0.1"\nport = {imap_server}\n'
                                       f'security = "none"\nusername = "{USER}"\n')
    monkeypatch.setenv("RCMFLOW_IMAP_PASSWORD", PASSWORD)
    client = IMAPClient("127.0.0.1", port=imap_server, ssl=False)
    client.login(USER, PASSWORD)
    yield client
    client.logout()


def test_replies_on_imap_are_fetched_once_accepted_and_left_unread(opened, home, rcmflow, account, snapshot):
    asked = requests(home)
    for raw in (corpus.outlook_reply(asked["focal@mx.example.org"]), corpus.out_of_office_es(None),
                corpus.dsn_bounce(asked["focal@us.example.org"], failed="focal@us.example.org"),
                corpus.malformed()):
        account.append("INBOX", raw)
    fetched = rcmflow("mail", "fetch", "--json")
    assert fetched.exit_code == 0, fetched.stderr
    report = json.loads(fetched.stdout)
    assert report["source"] == f"imap:{USER}@127.0.0.1/INBOX"
    assert sorted(s["kind"] for s in report["stored"]) == ["auto_reply", "bounce", "malformed", "reply"]

    before = snapshot()
    assert json.loads(rcmflow("mail", "fetch", "--json").stdout)["stored"] == []
    assert snapshot() == before

    account.select_folder("INBOX", readonly=True)
    flags = account.get_flags(account.search("ALL"))
    assert len(flags) == 4 and not any(b"\\Seen" in f for f in flags.values())  # nothing marked as read

    mx = next(m for m in inbox(rcmflow).values() if m["participant"] == "MX")
    assert rcmflow("mail", "accept", str(mx["id"])).exit_code == 0
    assert tracks(rcmflow)["MX"] == "submitted"
    assert "focal@us.example.org (US): failing" in rcmflow("status").stdout


def test_a_copy_of_a_message_on_the_server_is_not_kept_twice(opened, home, rcmflow, account):
    raw = corpus.gmail_reply(requests(home)["focal@gt.example.org"])
    account.append("INBOX", raw)
    assert rcmflow("mail", "fetch").exit_code == 0
    account.append("INBOX", raw)  # the same Message-ID under a new UID
    again = rcmflow("mail", "fetch")
    assert again.exit_code == 0 and "0 new messages" in again.stdout and "1 kept already" in again.stdout
    assert len(inbox(rcmflow)) == 1


def test_an_oversized_message_is_held_from_its_headers_without_downloading_it(opened, home, rcmflow, account):
    settings = (home / "rcmflow.toml").read_text()
    (home / "rcmflow.toml").write_text("[mail]\nmax_message_bytes = 100000\n" + settings)
    account.append("INBOX", corpus.oversized(requests(home)["focal@do.example.org"], 400_000))
    assert rcmflow("mail", "fetch").exit_code == 0
    [big] = inbox(rcmflow).values()
    assert (big["kind"], big["status"], big["from"]) == ("oversized", "held", "focal@do.example.org")
    shown = json.loads(rcmflow("mail", "show", str(big["id"]), "--json").stdout)
    assert shown["attachments"] == [] and "bytes" in shown["reason"]


def test_a_refused_login_is_one_line_and_changes_nothing(opened, home, rcmflow, account, snapshot, monkeypatch):
    monkeypatch.setenv("RCMFLOW_IMAP_PASSWORD", "wrong")
    before = snapshot()
    result = rcmflow("mail", "fetch")
    assert result.exit_code != 0
    assert f"refused the login of '{USER}'" in one_line(result) and "RCMFLOW_IMAP_PASSWORD" in one_line(result)
    assert snapshot() == before


def test_tick_reads_the_imap_account(opened, home, rcmflow, account):
    account.append("INBOX", corpus.apple_reply(requests(home)["focal@cr.example.org"]))
    assert rcmflow("tick", actor=None).exit_code == 0
    assert [m["participant"] for m in inbox(rcmflow).values()] == ["CR"]
