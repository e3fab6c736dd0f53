"""A sensitive value appears nowhere but in its credentials file.

Each bundle gets its own sensitive token (``user_config.token``, passed in env) and
then does its worst with it: prints it to stderr and crash-loops, prints it and
fails at start, prints it and hangs the handshake, writes it across the log's
16 KiB line cut, as stdout garbage and inside a JSON-RPC error message. One runs
normally. Then every text the console produced is searched: the whole data dir
(every file but that bundle's credentials file: logs, rotated logs, run/ records,
workspace.json), log records, lifecycle events, exception messages,
RespawnResult/ConfigureResult reprs, instance fields and the log view, and the
``ps`` output while the bundles run. Log files are also searched with their line
breaks removed, so a value split over two lines counts as leaked.

A manifest that puts a sensitive value in ``args`` (visible to every local user in
``ps``) is installed with a warning naming the field, persisted and shown.
"""

from __future__ import annotations

import logging
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from core.errors import ConfigError
from core.states import BundleState
from tests.procs import wait_for
from tests.reliability.support import SERVERS, EventLog, files_under, opened, write_bundle, ws_name

S = BundleState
FIELDS = {
    "token": {"type": "string", "title": "API token", "sensitive": True, "required": True},
    "limit": {"type": "number", "title": "Limit", "min": 1, "max": 10},
}
ENV = {"TOKEN": "${user_config.token}"}
BUNDLES: dict[str, tuple[list[str], Path | None]] = {
    "crashy": (["--print-env", "TOKEN", "--exit-after", "0.2"], None),
    "broken": (["--print-env", "TOKEN", "--crash-on-start"], None),
    "hung": (["--print-env", "TOKEN", "--hang-init"], None),
    "chaos": (["--leak-env", "TOKEN", "--init-error"], SERVERS / "chaos_server.py"),
    "steady": (["--print-env", "TOKEN"], None),
}


def ps() -> str:
    return subprocess.run(
        ["ps", "-eww", "-o", "pid,args"], capture_output=True, text=True, check=True
    ).stdout


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return [name for name, value in secrets.items() if value in text]


async def test_a_sensitive_value_never_leaves_its_credentials_file(
    tmp_path: Path, tag: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = {name: f"sk-{name}-{uuid.uuid4().hex}" for name in BUNDLES}
    texts: list[str] = []  # everything the console said, to search at the end
    async with opened(tmp_path / "data", tag, handshake_timeout=3.0) as host:
        lc = host.lifecycle
        events = EventLog()
        lc.subscribe(events)
        ws = host.create_workspace(ws_name(tag)).id
        for name, (flags, script) in BUNDLES.items():
            extra = {"server": script} if script else {}
            folder = write_bundle(tmp_path / name, flags, user_config=FIELDS, env=ENV, **extra)
            await host.install_bundle(ws, folder, server_name=name)
            saved = await host.set_user_config(ws, name, {"token": secrets[name]})
            texts.append(repr(saved))
        results = [await lc.start_bundle(name, ws) for name in BUNDLES]
        texts += [repr(r) for r in results]
        assert [r.ok for r in results] == [True, False, False, False, True], results
        texts += [repr(await lc.respawn_bundle("broken", ws))]
        texts += [repr(await host.set_user_config(ws, "hung", {"token": secrets["hung"]}))]

        # the crash loop runs its course (fast backoff) while ps looks at everything
        crashy = lc.get_instance("crashy", ws)
        ps_outputs = []
        assert crashy is not None
        deadline = time.monotonic() + 30  # the restart budget with the fast backoff
        while crashy.state is not S.DEAD and time.monotonic() < deadline:
            ps_outputs.append(ps())
            await wait_for(lambda: crashy.state is S.DEAD, 0.3)
        ps_outputs.append(ps())
        assert "gave up after 5 restarts" in (crashy.last_error or ""), crashy
        steady = lc.get_instance("steady", ws)
        assert steady is not None and steady.state is S.RUNNING
        assert any(str(steady.pid) in out for out in ps_outputs)
        texts += ps_outputs

        # the failures say what happened, with the value masked
        hung = lc.get_instance("hung", ws)
        assert hung is not None and "Last stderr: TOKEN=••••" in (hung.last_error or "")
        chaos = lc.get_instance("chaos", ws)
        assert chaos is not None and "credential •••• rejected" in (chaos.last_error or "")

        # exception messages: rejected saves and validation echo titles, never values
        for values in (
            {"token": secrets["steady"], "limit": secrets["steady"]},
            {"token": secrets["steady"], "unknown": secrets["steady"]},
        ):
            with pytest.raises(ConfigError) as info:
                await host.set_user_config(ws, "steady", values)
            texts += [str(info.value), *info.value.problems]
            texts += host.validate_user_config(ws, "steady", values)
        with pytest.raises(RuntimeError) as error:
            await lc.call_tool("broken", ws, "env", {"name": "TOKEN"})
        texts.append(str(error.value))

        for name in BUNDLES:
            inst = lc.get_instance(name, ws)
            assert inst is not None
            texts += [repr(inst), inst.last_error or "", *inst.stderr_tail]
            texts += lc.read_log(name, ws)
            texts += [repr(host.config_status(ws, name)), repr(host.config_values(ws, name))]
        texts += [repr(e) for e in events.events]
        assert events.problems == []
    texts += [record.getMessage() for record in caplog.records]
    texts += [record.exc_text or "" for record in caplog.records]

    found = {i: leaks(text, secrets) for i, text in enumerate(texts) if leaks(text, secrets)}
    assert not found, {i: (texts[i][:300], names) for i, names in found.items()}

    data = tmp_path / "data"
    logs = [p for p in files_under(data / "logs")]
    assert {p.name for p in logs} >= {f"{name}.log" for name in BUNDLES}
    for path in files_under(data):
        raw = path.read_bytes().decode("utf-8", "replace")
        own = path.parent.name == "credentials" and path.stem in secrets
        allowed = {path.stem} if own else set()
        for name in leaks(raw, secrets):
            assert name in allowed, f"{name}'s value is in {path}"
        if path in logs:  # a value split over two lines is still a leak
            joined = raw.replace("\n", "")
            assert leaks(joined, secrets) == [], f"a value is split across lines in {path}"
        if own:
            assert secrets[path.stem] in raw  # the one place it is


async def test_a_sensitive_value_in_args_warns_at_install(tmp_path: Path, tag: str) -> None:
    fields = {
        "token": {"type": "string", "title": "API token", "description": "", "sensitive": True}
    }
    folder = write_bundle(
        tmp_path / "argsy", ["--print-env", "${user_config.token}"], user_config=fields
    )
    async with opened(tmp_path / "data", tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        await host.install_bundle(ws, folder, server_name="argsy")
        [warning] = host.install_warnings(ws, "argsy")
        assert warning.startswith(
            'Sensitive field "API token" is passed as a command-line argument'
        )
        assert "process list" in warning
        # kept with the installed bundle, for the GUI to show again later
        assert host.workspace(ws).bundles[0].warnings == [warning]
        # and the warning is true: once set and started, ps shows the value
        secret = f"sk-args-{uuid.uuid4().hex}"
        await host.set_user_config(ws, "argsy", {"token": secret})
        assert (await host.lifecycle.start_bundle("argsy", ws)).ok
        assert secret in ps()
        # while everything the console itself writes still masks it
        log = host.lifecycle.log_path("argsy", ws).read_text()
        assert secret not in log and "--print-env ••••" in log
