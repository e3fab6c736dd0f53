"""The workspace gateway end to end: a real console, real bundles, the SDK's stdio client
through the ``connect`` relay (tests/gateway/console.py holds the data dir)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import psutil
import pytest

from core.gateway import files, unixsock
from tests.gateway.support import (
    KIT,
    ROOT,
    Console,
    RawRelay,
    client,
    fingerprint,
    initialize,
    short_dir,
    text,
)


@pytest.fixture(scope="module")
def console() -> Iterator[Console]:
    con = Console(short_dir() / "data", KIT)
    yield con
    assert con.close() == 0
    # A relay that outlived its test can auto-start a `serve` for this data dir once
    # the console is gone (seen once on a clean CI run, cause not found yet): end
    # any such process so none outlives the suite.
    for pid in _processes_for(str(con.data_dir), ("connect", "serve")):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).terminate()
            psutil.Process(pid).wait(30)


def _processes_for(data_dir: str, verbs: tuple[str, ...]) -> list[int]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if data_dir in cmd and any(verb in cmd for verb in verbs):
            found.append(proc.pid)
    return found


def fp(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:12]


async def test_sdk_client_lists_calls_and_reads_resources_and_prompts(console: Console) -> None:
    async with client(console.data_dir) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"demo-clock__echo", "demo-vault__token_fingerprint", "gateway-kit__slow"} <= names
        echoed = await session.call_tool("demo-clock__echo", {"text": "hi", "uppercase": True})
        assert "HI" in text(echoed) and not echoed.is_error
        resources = (await session.list_resources()).resources
        # demo-notes serves notes://... too
        assert [str(r.uri) for r in resources if str(r.uri).startswith("kit:")] == ["kit://readme"]
        templates = (await session.list_resource_templates()).resource_templates
        kit_templates = [t.uri_template for t in templates if t.uri_template.startswith("kit:")]
        assert kit_templates == ["kit://items/{item}"]
        read = await session.read_resource("kit://items/abc")
        assert read.contents[0].text == "item abc"
        prompts = (await session.list_prompts()).prompts
        assert [p.name for p in prompts if p.name.startswith("gateway-kit")] == [
            "gateway-kit__greet"
        ]
        prompt = await session.get_prompt("gateway-kit__greet", {"who": "Ada"})
        assert prompt.messages[0].content.text == "Say hello to Ada."

        # Resources as the bundle serves them now: it adds one without list_changed, on
        # its second resources/list page; the gateway keeps no copy of a list or a text.
        await session.call_tool("gateway-kit__publish", {"name": "n1", "text": "one"})
        resources = (await session.list_resources()).resources
        kit = [str(r.uri) for r in resources if str(r.uri).startswith("kit:")]
        assert kit == ["kit://readme", "kit://published/n1"]
        assert (await session.read_resource("kit://published/n1")).contents[0].text == "one"
        await session.call_tool("gateway-kit__publish", {"name": "n1", "text": "two"})
        assert (await session.read_resource("kit://published/n1")).contents[0].text == "two"
        await session.call_tool("gateway-kit__publish", {"name": "n2", "text": "new"})
        assert (await session.read_resource("kit://published/n2")).contents[0].text == "new"


def rotate_with_cli(data_dir: Path, token: str) -> dict[str, object]:
    """``bundle-console config set ... api_token=-``: the token on stdin, never in argv."""
    cli = [sys.executable, "-m", "core.cli", "config", "set", "--data-dir", str(data_dir)]
    done = subprocess.run(
        [*cli, "Demo", "demo-vault", "api_token=-", "--json"],
        input=token + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr
    return json.loads(done.stdout)


@pytest.mark.timeout(400)  # ten respawns of an SDK server: slow on a loaded 2-core machine
async def test_rotations_through_the_cli_under_load_never_fail_a_call(console: Console) -> None:
    tokens = [f"rotated-{i}" for i in range(10)]
    prints = {fp(t): i for i, t in enumerate(tokens)}
    done = 0  # rotations completed
    finished = False
    calls = 0
    notes: list[list[str]] = [[], [], []]

    async def loop_calls(n: int) -> None:
        nonlocal calls
        async with client(console.data_dir, notes=notes[n], name=f"loader-{n}") as session:
            while not finished:
                before = done
                result = await session.call_tool("demo-vault__token_fingerprint", {})
                seen = fingerprint(result)  # asserts the call succeeded
                calls += 1
                if before:
                    # a call that starts after rotation k sees token k or a later one
                    assert prints.get(seen, -1) >= before - 1, (seen, before)

    async def rotate() -> None:
        nonlocal done, finished
        await asyncio.sleep(0.3)
        for token in tokens:
            answer = await asyncio.to_thread(rotate_with_cli, console.data_dir, token)
            assert answer["outcome"] == "respawned", answer
            done += 1
        finished = True

    await asyncio.gather(rotate(), *(loop_calls(n) for n in range(3)))
    assert calls > 30
    # The vault's lists are the same after each respawn: no client was told otherwise.
    assert [n for n in notes if "notifications/tools/list_changed" in n] == []
    async with client(console.data_dir) as session:
        last = await session.call_tool("demo-vault__token_fingerprint", {})
        assert fingerprint(last) == fp(tokens[-1])


async def test_a_respawn_drains_the_call_in_flight(console: Console, tmp_path: Path) -> None:
    async with client(console.data_dir) as session:
        before = console.cmd(op="pid", server="gateway-kit")["pid"]
        call = asyncio.create_task(
            session.call_tool("gateway-kit__slow", {"seconds": 1.5, "note": str(tmp_path / "n")})
        )
        await asyncio.sleep(0.5)
        restart = await asyncio.to_thread(console.cmd, op="restart", server="gateway-kit")
        result = await call
        assert text(result) == "done" and not result.is_error
        assert restart["outcome"] == "respawned"
        assert console.cmd(op="pid", server="gateway-kit")["pid"] != before
        assert not (tmp_path / "n").exists()  # it finished, it was not cancelled


async def test_list_changed_reaches_clients_when_the_union_changes(console: Console) -> None:
    notes: list[str] = []
    async with client(console.data_dir, notes=notes) as session:
        await session.list_tools()
        stop = await asyncio.to_thread(console.cmd, op="stop", server="demo-notes")
        assert stop["outcome"] == "stopped"
        for _ in range(100):
            if "notifications/tools/list_changed" in notes:
                break
            await asyncio.sleep(0.05)
        assert "notifications/tools/list_changed" in notes
        names = {t.name for t in (await session.list_tools()).tools}
        assert "demo-notes__list_notes" not in names
        start = await asyncio.to_thread(console.cmd, op="start", server="demo-notes")
        assert start["outcome"] == "started"
        names = {t.name for t in (await session.list_tools()).tools}
        assert "demo-notes__list_notes" in names


async def test_unavailable_bundles_fail_at_once_with_what_to_do(console: Console) -> None:
    async with client(console.data_dir) as session:
        console.cmd(op="stop", server="demo-clock")
        stopped = await session.call_tool("demo-clock__echo", {"text": "x"})
        assert stopped.is_error
        assert text(stopped) == (
            "Demo Clock is stopped in workspace Demo; "
            "an administrator can start it in Bundle Console."
        )
        console.cmd(op="start", server="demo-clock")
        assert not (await session.call_tool("demo-clock__echo", {"text": "x"})).is_error

        console.cmd(op="protect", server="demo-vault")
        refused = console.cmd(op="restart", server="demo-vault")
        assert refused["outcome"] == "protected"
        assert refused["error"] == (
            'Bundle "demo-vault" is protected in workspace "ws_demo": restart refused. '
            "Its process was left running untouched."
        )
        assert not (await session.call_tool("demo-vault__token_fingerprint", {})).is_error

    ws = console.cmd(op="workspace", name="Setup Needed", install=[str(KIT)])["id"]
    vault = ROOT / "resources" / "bundles" / "demo-vault"
    console.cmd(op="workspace_install", ws=ws, path=str(vault))
    console.cmd(op="rotate", ws=ws, server="gateway-kit", values={"label": "crash"})
    async with client(console.data_dir, "setup needed") as session:
        setup = await session.call_tool("demo-vault__token_fingerprint", {})
        assert text(setup) == (
            'Demo Vault needs setup in workspace Setup Needed: "API token" is missing.'
        )
        dead = await session.call_tool("gateway-kit__label", {})
        assert text(dead) == (
            "Gateway Kit failed in workspace Setup Needed and is not running; an administrator "
            "can read its log and restart it in Bundle Console."
        )
        for result in (setup, dead):
            assert "token" not in text(result).replace("API token", "")


async def test_cancellation_and_progress_pass_through(console: Console, tmp_path: Path) -> None:
    note = tmp_path / "cancelled"
    progress: list[float] = []
    got_progress = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)
        got_progress.set()

    async with client(console.data_dir) as session:
        async with anyio.create_task_group() as tg:

            async def slow_call() -> None:
                await session.call_tool(
                    "gateway-kit__slow",
                    {"seconds": 30, "note": str(note)},
                    progress_callback=on_progress,
                )

            tg.start_soon(slow_call)
            with anyio.fail_after(20):
                await got_progress.wait()
            tg.cancel_scope.cancel()
        for _ in range(200):
            if note.exists():
                break
            await asyncio.sleep(0.05)
        assert note.read_text() == "cancelled"
        assert progress[0] == 0
        assert not (await session.call_tool("demo-clock__echo", {"text": "after"})).is_error


async def test_workspaces_never_see_each_others_tools(console: Console) -> None:
    ws = console.cmd(op="workspace", name="Other", install=[str(KIT)])["id"]
    console.cmd(op="rotate", ws=ws, server="gateway-kit", values={"label": "other label"})
    async with client(console.data_dir, "Other") as other, client(console.data_dir) as demo:
        other_tools = {t.name for t in (await other.list_tools()).tools}
        assert other_tools == {
            "gateway-kit__slow",
            "gateway-kit__label",
            "gateway-kit__probe_gateway",
            "gateway-kit__ask_client",
            "gateway-kit__roots_changes",
            "gateway-kit__publish",
        }
        assert text(await other.call_tool("gateway-kit__label", {})) == "other label"
        assert text(await demo.call_tool("gateway-kit__label", {})) == "kit"
        with pytest.raises(Exception, match="Unknown tool"):
            await other.call_tool("demo-vault__token_fingerprint", {})


async def test_a_bundle_process_cannot_connect(console: Console) -> None:
    data = console.data_dir
    async with client(data) as session:
        result = await session.call_tool(
            "gateway-kit__probe_gateway",
            {
                "socket_path": str(files.socket_path(data)),
                "token_path": str(files.token_path(data)),
            },
        )
    # The sandbox hides the data dir (no token, no socket); without it the marker
    # in the bundle's environment still keeps it out. Either way: no session.
    answer = text(result)
    assert '"ok": true' not in answer
    assert (
        "Bundle processes cannot connect to the gateway." in answer or "token unreadable" in answer
    ), answer


def test_a_process_with_a_bundle_marker_is_refused_even_with_the_token(console: Console) -> None:
    import os
    import subprocess
    import sys

    from core.models import MARKER_ENV

    relay = subprocess.Popen(
        [sys.executable, "-m", "core.cli", "connect", "Demo", "--data-dir", str(console.data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, MARKER_ENV: "ws_demo/demo-clock"},
        cwd=ROOT,
    )
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    assert relay.stdin is not None and relay.stderr is not None and relay.stdout is not None
    relay.stdin.write(json.dumps(init).encode() + b"\n")
    relay.stdin.flush()
    answer = json.loads(relay.stdout.readline())  # the pending initialize gets the reason
    assert relay.wait(60) == 1
    relay.stdin.close()
    assert answer["error"]["message"] == "Bundle processes cannot connect to the gateway."
    stderr = relay.stderr.read()
    relay.stdout.close()
    relay.stderr.close()
    assert b"Bundle processes cannot connect to the gateway." in stderr


def test_a_wrong_token_or_workspace_is_refused(console: Console) -> None:
    def hello(**fields: object) -> dict[str, object]:
        sock = unixsock.connect(files.socket_path(console.data_dir), timeout=5)
        with sock, sock.makefile("rwb") as stream:
            stream.write(json.dumps({"gateway": 1, **fields}).encode() + b"\n")
            stream.flush()
            return json.loads(stream.readline())

    token = files.read_token(console.data_dir)
    assert hello(token="nope", workspace="Demo") == {"ok": False, "error": "Wrong gateway token."}
    assert hello(token=token, workspace="Nope")["error"].startswith("No workspace named 'Nope'")
    assert hello(token=token, workspace="demo") == {"ok": True, "workspace": "ws_demo"}
    mode = files.socket_path(console.data_dir).stat().st_mode & 0o777
    assert mode == 0o600 and files.token_path(console.data_dir).stat().st_mode & 0o777 == 0o600
    assert files.service_dir(console.data_dir).stat().st_mode & 0o777 == 0o700
    assert isinstance(socket.AF_UNIX, int)


async def test_an_initialize_sent_while_the_relay_reconnects_is_answered(console: Console) -> None:
    relay = RawRelay("Demo", console.data_dir)
    try:
        relay.send(initialize(1, "raw"))
        assert relay.answer(1)["result"]["serverInfo"]["name"] == "bundle-console Demo"
        relay.send({"method": "notifications/initialized"})
        relay.send({"id": 2, "method": "tools/list"})
        assert relay.answer(2)["result"]["tools"]

        assert (await asyncio.to_thread(console.cmd, op="gateway_down"))["ok"]
        relay.send(initialize(3, "raw again"))  # a client starting over while it reconnects
        relay.send({"id": 4, "method": "tools/list"})
        assert (await asyncio.to_thread(console.cmd, op="gateway_up"))["ok"]

        again = await asyncio.to_thread(relay.answer, 3)
        assert again["result"]["serverInfo"]["name"] == "bundle-console Demo", again
        relay.send({"method": "notifications/initialized"})
        assert (await asyncio.to_thread(relay.answer, 4))["result"]["tools"]
        relay.send({"id": 5, "method": "ping"})
        assert (await asyncio.to_thread(relay.answer, 5))["result"] == {}
        methods = [m.get("method") for m in relay.seen]
        assert "notifications/tools/list_changed" in methods  # said after reconnecting
        assert [m for m in relay.seen if "error" in m] == []
    finally:
        assert relay.close() == 0


def answered_by(name: str, gate: asyncio.Event | None = None, seen: list[str] | None = None):  # type: ignore[no-untyped-def]
    """A sampling callback answering "from NAME" (after ``gate``, if given)."""
    import mcp_types as types

    async def sample(ctx, params):  # type: ignore[no-untyped-def]
        if seen is not None:
            seen.append(params.messages[0].content.text)
        if gate is not None:
            await gate.wait()
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=f"from {name}"),
            model="test-model",
        )

    return sample


async def ask(session, kind: str, count: int = 1, progress=None, **more) -> list[str]:  # type: ignore[no-untyped-def]
    arguments = {"kind": kind, "count": count, **more}
    result = await session.call_tool(
        "gateway-kit__ask_client", arguments, progress_callback=progress
    )
    assert not result.is_error, text(result)
    return json.loads(text(result))


@pytest.mark.filterwarnings("ignore:The roots capability is deprecated")
async def test_server_requests_go_to_a_client_that_offers_them(console: Console) -> None:
    """Sampling, elicitation and roots from a bundle during a call reach the calling
    client when it offers them, else another capable client, else an MCP error."""
    import mcp_types as types

    async def elicit(ctx, params):  # type: ignore[no-untyped-def]
        return types.ElicitResult(action="accept", content={"answer": f"yes to {params.message}"})

    async def roots(ctx):  # type: ignore[no-untyped-def]
        return types.ListRootsResult(roots=[types.Root(uri="file:///work/project", name="p")])

    data = console.data_dir
    async with client(data, name="plain") as plain:
        no_one = "no MCP client connected to workspace Demo supports"
        assert await ask(plain, "sampling") == [
            f"error -32601: sampling/createMessage: {no_one} sampling."
        ]
        assert await ask(plain, "roots") == [f"error -32601: roots/list: {no_one} roots."]
        async with (
            client(data, name="b", sampling_callback=answered_by("b")) as b,
            client(
                data,
                name="c",
                sampling_callback=answered_by("c"),
                elicitation_callback=elicit,
                list_roots_callback=roots,
            ) as c,
        ):
            assert await ask(c, "sampling") == ["ok: from c"]  # its own caller first
            assert await ask(b, "sampling", 2) == ["ok: from b", "ok: from b"]
            assert await ask(plain, "sampling") == ["ok: from b"]  # else any capable client
            assert await ask(plain, "elicitation") == ["ok: accept yes to question 0"]
            assert await ask(b, "roots") == ["ok: file:///work/project"]

            before = text(await plain.call_tool("gateway-kit__roots_changes", {}))
            await c.send_roots_list_changed()  # reaches the workspace's bundles
            for _ in range(200):
                after = text(await plain.call_tool("gateway-kit__roots_changes", {}))
                if int(after) > int(before):
                    break
                await asyncio.sleep(0.02)
            assert int(after) == int(before) + 1


async def test_a_bundle_flooding_sampling_requests_is_bounded(console: Console) -> None:
    """At most MAX_FORWARDED wait for the client at once; the rest are refused at once."""
    from core.process import MAX_FORWARDED

    flood = 3 * MAX_FORWARDED
    gate = asyncio.Event()  # every request was forwarded or refused: let them answer
    seen: list[str] = []
    refused_so_far = 0
    sampler = answered_by("slow", gate, seen)

    def all_accounted_for() -> None:
        if len(seen) + refused_so_far >= flood:
            gate.set()

    async def counting(ctx, params):  # type: ignore[no-untyped-def]
        all_accounted_for_after = len(seen) + 1 + refused_so_far >= flood
        if all_accounted_for_after:
            gate.set()
        return await sampler(ctx, params)  # counts itself in seen, waits for the gate

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        nonlocal refused_so_far
        refused_so_far = int(value)  # the bundle counts its refused requests
        all_accounted_for()

    async with client(console.data_dir, name="sampler", sampling_callback=counting) as session:
        with anyio.fail_after(120):
            outcomes = await ask(session, "sampling", flood, progress=on_progress)
    answered = [o for o in outcomes if o == "ok: from slow"]
    refused = [o for o in outcomes if o.startswith("error")]
    assert len(answered) == MAX_FORWARDED and len(seen) == MAX_FORWARDED
    assert set(refused) == {"error -32000: too many sampling/createMessage requests in flight"}
    assert len(refused) == flood - MAX_FORWARDED


INSPECTOR = ROOT / ".ci-tools" / "node_modules" / ".bin" / "mcp-inspector"


async def test_the_mcp_inspector_cli_lists_and_calls(console: Console, tmp_path: Path) -> None:
    """The official MCP Inspector (``make test-tools``) as the client, through ``connect``."""
    if not INSPECTOR.exists() or shutil.which("node") is None:
        pytest.skip("the MCP Inspector CLI is not installed (run `make test-tools`; needs npm)")
    connect = [str(Path(sys.executable).with_name("bundle-console")), "connect", "Demo"]
    connect += ["--data-dir", str(console.data_dir)]
    env = {**os.environ, "MCP_CATALOG_PATH": str(tmp_path / "catalog.json")}

    async def inspector(*args: str) -> dict:
        proc = await asyncio.create_subprocess_exec(
            str(INSPECTOR),
            "--cli",
            *connect,
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,
            env=env,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        return json.loads(out)

    listed, called = await asyncio.gather(
        inspector("--method", "tools/list"),
        inspector(
            "--method", "tools/call", "--tool-name", "demo-clock__echo",
            "--tool-arg", "text=inspected", "uppercase=true",
        ),
    )  # fmt: skip
    names = {tool["name"] for tool in listed["tools"]}
    assert {"demo-clock__echo", "demo-vault__token_fingerprint", "gateway-kit__slow"} <= names
    assert called["isError"] is False
    assert called["content"] == [{"type": "text", "text": "INSPECTED"}]


@pytest.mark.filterwarnings("ignore:The roots capability is deprecated")
async def test_a_bundle_giving_up_on_sampling_cancels_the_clients_callback(
    console: Console,
) -> None:
    """notifications/cancelled from the bundle reaches the client that was asked."""
    asked, cancelled = asyncio.Event(), asyncio.Event()
    sessions = []

    async def never_answers(ctx, params):  # type: ignore[no-untyped-def]
        asked.set()
        await sessions[0].send_roots_list_changed()  # the kit gives up when roots change
        try:
            await asyncio.Event().wait()
        except BaseException:
            cancelled.set()
            raise

    async with client(console.data_dir, name="slow", sampling_callback=never_answers) as session:
        sessions.append(session)
        assert await ask(session, "sampling", give_up=True) == ["ok: gave up"]
        assert asked.is_set()
        with anyio.fail_after(30):
            await cancelled.wait()
