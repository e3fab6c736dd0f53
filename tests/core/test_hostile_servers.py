"""Servers that speak MCP correctly and then abuse it (tests/fixtures/servers/hostile_server.py).

Each case runs the real fixture as a subprocess under a real lifecycle, and
checks the outcome an administrator is promised: a clear error, a bundle that
never reads "running" while useless, a bounded console.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core import process
from core.lifecycle import BundleLifecycleManager
from core.models import LifecycleEvent
from core.process import CallTimeout
from core.redact import MASK
from core.states import BundleState
from tests.core.engine_support import SpecTable, make_manager
from tests.procs import marked_processes, pid_alive, wait_for

S = BundleState
WS = "ws_hostile"
HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "servers" / "hostile_server.py"
SECRET = "sk-hostile-0123456789"


def add(table: SpecTable, name: str, *args: str, **kw: object):
    return table.add(name, WS, *args, script=HOSTILE, **kw)


def record(lc: BundleLifecycleManager) -> list[LifecycleEvent]:
    events: list[LifecycleEvent] = []
    lc.subscribe(events.append)
    return events


@pytest.fixture
async def slow_retry(table: SpecTable, tmp_path: Path):
    """A manager whose first restart comes late, so a crash can be looked at."""
    lc = make_manager(table, tmp_path, backoff=(60,))
    yield lc
    await lc.shutdown()
    assert marked_processes(table.tag) == {}


# -- request storms ----------------------------------------------------------------


async def test_request_storm_is_flagged_and_the_process_stopped(slow_retry, table):
    lc = slow_retry
    add(table, "storm", "--storm")
    lc.register("storm", WS)
    events = record(lc)
    assert (await lc.start_bundle("storm", WS)).ok
    pid = lc.get_instance("storm", WS).pid
    assert await wait_for(lambda: lc.get_instance("storm", WS).state is S.CRASHED, 20)
    inst = lc.get_instance("storm", WS)
    assert "flooded the console with server->client requests" in inst.last_error
    assert "the console stopped it" in inst.last_error
    assert not pid_alive(pid)
    moves = [(e.previous, e.state) for e in events if e.kind == "transition"]
    assert moves == [(S.STOPPED, S.STARTING), (S.STARTING, S.RUNNING), (S.RUNNING, S.CRASHED)]
    assert inst.next_retry_at is not None  # flagged like a crash: restarted with backoff


async def test_server_requests_are_answered_without_a_hook_and_forwarded_with_one(lc, table):
    add(table, "asker", "--ask-sampling", "--tools", "3")
    lc.register("asker", WS)
    assert (await lc.start_bundle("asker", WS)).ok
    refused = await lc.call_tool("asker", WS, "ask")
    assert '"code": -32601' in refused.content[0].text
    assert "sampling/createMessage is not supported" in refused.content[0].text

    seen: list[tuple[str, str, str]] = []

    async def hook(server: str, ws: str, method: str, params: dict | None) -> dict:
        seen.append((server, ws, method))
        return {"role": "assistant", "content": {"type": "text", "text": "from the client"}}

    lc.on_server_request = hook
    answered = await lc.call_tool("asker", WS, "ask")
    assert "from the client" in answered.content[0].text
    assert seen == [("asker", WS, "sampling/createMessage")]


# -- notification floods ------------------------------------------------------------

FLOOD = 10_000


async def test_a_notification_flood_is_dropped_and_counted_while_others_are_served(lc, table):
    """A bundle sending 10,000 notifications as fast as its pipe takes them: the console
    keeps serving another bundle during the flood, passes on a bounded share, counts
    every dropped one, says so once in the bundle's log, and still delivers the
    ``tools/list_changed`` the flood ends with (the gateway must list it again)."""
    add(table, "calm", "--tools", "3")
    add(table, "flood", "--flood-notifications", str(FLOOD))
    seen: list[tuple[str, str]] = []
    lc.on_server_notification = lambda server, ws, method, params: seen.append((server, method))
    for name in ("calm", "flood"):
        lc.register(name, WS)
        assert (await lc.start_bundle(name, WS)).ok
    flooder = lc.get_instance("flood", WS)
    assert await wait_for(lambda: flooder.notifications_dropped > 0, 20)
    for _ in range(3):  # answered while the flood is on
        assert (await lc.call_tool("calm", WS, "noop")).content[0].text == "ok"
    seen.append(("calm", "<calls answered>"))
    final = ("flood", "notifications/tools/list_changed")
    assert await wait_for(lambda: final in seen, 30)
    assert seen.index(("calm", "<calls answered>")) < seen.index(final)
    passed = [method for server, method in seen if server == "flood"]
    assert passed.count(final[1]) == 1
    assert len(passed) + flooder.notifications_dropped == FLOOD + 1  # none lost uncounted
    assert flooder.notifications_dropped > FLOOD // 2
    log = lc.read_log("flood", WS, max_lines=100)
    assert sum("notification flood" in line for line in log) == 1
    assert flooder.state is S.RUNNING  # dropped, not killed: notifications cost no memory


# -- huge tool lists ---------------------------------------------------------------


async def test_too_many_tools_is_a_clear_handshake_error(lc, table):
    add(table, "many", "--tools", "100000", "--page-size", "1000")
    lc.register("many", WS)
    result = await lc.start_bundle("many", WS)
    assert not result.ok and result.outcome == "failed"
    assert f"lists more than {process.MAX_TOOLS} tools" in result.error
    inst = lc.get_instance("many", WS)
    assert inst.state is S.DEAD and inst.tools == []


async def test_endless_tool_pages_are_a_clear_handshake_error(lc, table):
    add(table, "pager", "--endless-pages")
    lc.register("pager", WS)
    result = await lc.start_bundle("pager", WS)
    assert not result.ok
    assert f"still paging tools/list after {process.MAX_TOOL_PAGES} pages" in result.error


async def test_huge_descriptions_are_cut_and_the_log_says_so(lc, table):
    add(table, "wordy", "--tools", "3", "--description-bytes", "1000000")
    lc.register("wordy", WS)
    assert (await lc.start_bundle("wordy", WS)).ok
    tools = lc.get_instance("wordy", WS).tools
    assert [len(t.description) for t in tools] == [process.MAX_DESCRIPTION + 1] * 3
    assert any("cut 3 tool description(s)" in line for line in lc.read_log("wordy", WS))


async def test_huge_input_schema_is_refused(lc, table):
    add(table, "schema", "--schema-bytes", str(process.MAX_SCHEMA_BYTES + 10))
    lc.register("schema", WS)
    result = await lc.start_bundle("schema", WS)
    assert not result.ok and "has an input schema over 64 KiB" in result.error


# -- lost sessions -----------------------------------------------------------------


async def test_closed_stdout_while_alive_is_a_crash_then_a_restart(lc, table):
    add(table, "mute", "--close-stdout-after", "0.3")
    lc.register("mute", WS)
    events = record(lc)
    assert (await lc.start_bundle("mute", WS)).ok
    first = lc.get_instance("mute", WS).pid
    assert await wait_for(lambda: any(e.state is S.CRASHED for e in events), 20)
    crashed = [e for e in events if e.state is S.CRASHED]
    assert "closed its stdout while still running" in crashed[0].error
    assert not pid_alive(first)
    # ...and restarted: a new process reaches running again.
    assert await wait_for(lambda: lc.get_instance("mute", WS).restarts >= 1, 20)
    assert await wait_for(
        lambda: any(
            e.state is S.RUNNING and e.at > crashed[0].at for e in events if e.kind == "transition"
        ),
        20,
    )


async def test_a_server_that_stops_answering_ping_is_unresponsive_and_restarted(table, tmp_path):
    lc = make_manager(table, tmp_path, ping_interval=0.2, ping_timeout=1.0)
    add(table, "deaf", "--deaf-after", "0.5")
    lc.register("deaf", WS)
    events = record(lc)
    try:
        assert (await lc.start_bundle("deaf", WS)).ok
        first = lc.get_instance("deaf", WS).pid
        assert await wait_for(lambda: any(e.state is S.CRASHED for e in events), 20)
        crashed = next(e for e in events if e.state is S.CRASHED)
        assert crashed.error.startswith("unresponsive: did not answer ping within 1 s")
        assert not pid_alive(first)
        assert await wait_for(lambda: lc.get_instance("deaf", WS).restarts >= 1, 20)
    finally:
        await lc.shutdown()


async def test_a_server_busy_with_a_call_is_not_taken_for_unresponsive(table, tmp_path):
    """A single-threaded server answers no ping during a long call: the call's own
    timeout bounds that, the ping watch must not kill the bundle mid-call."""
    lc = make_manager(table, tmp_path, ping_interval=0.1, ping_timeout=0.3)
    add(table, "busy", "--busy-call", "2.0")
    lc.register("busy", WS)
    events = record(lc)
    try:
        assert (await lc.start_bundle("busy", WS)).ok
        result = await lc.call_tool("busy", WS, "noop", timeout=30)
        assert result.content[0].text == "ok"
        assert lc.get_instance("busy", WS).state is S.RUNNING
        assert [e.state for e in events if e.kind == "transition"] == [S.STARTING, S.RUNNING]
    finally:
        await lc.shutdown()


async def test_a_server_that_answers_ping_stays_running(table, tmp_path):
    """The ping watch must not flag a healthy server (the guard's other side)."""
    lc = make_manager(table, tmp_path, ping_interval=0.05, ping_timeout=2.0)
    add(table, "alive")
    lc.register("alive", WS)
    events = record(lc)
    try:
        assert (await lc.start_bundle("alive", WS)).ok
        proc = lc.get_instance("alive", WS)._proc
        pings = 0

        # Count the pings the server answered, by watching them cross the session.
        original = proc.session.send_ping

        async def counted(**kw):
            nonlocal pings
            result = await original(**kw)
            pings += 1
            return result

        proc.session.send_ping = counted
        assert await wait_for(lambda: pings >= 5, 20)
        assert lc.get_instance("alive", WS).state is S.RUNNING
        assert [e.state for e in events if e.kind == "transition"] == [S.STARTING, S.RUNNING]
    finally:
        await lc.shutdown()


# -- hung calls --------------------------------------------------------------------


async def test_hung_call_times_out_with_the_given_and_the_default_timeout(table, tmp_path):
    lc = make_manager(table, tmp_path, call_timeout=0.5)
    add(table, "hang", "--hang-calls")
    lc.register("hang", WS)
    try:
        assert (await lc.start_bundle("hang", WS)).ok
        with pytest.raises(CallTimeout, match=r"did not answer tools/call 'noop' within 0.3 s"):
            await lc.call_tool("hang", WS, "noop", timeout=0.3)
        with pytest.raises(CallTimeout, match=r"within 0.5 s"):
            await lc.call_tool("hang", WS, "noop")
        assert lc.get_instance("hang", WS).state is S.RUNNING  # pings still answered
    finally:
        await lc.shutdown()


# -- secrets in what a server sends ------------------------------------------------


async def test_tool_descriptions_and_mcp_errors_are_redacted(lc, table):
    from mcp.shared.exceptions import MCPError

    add(table, "leaky", "--tools", "3", "--leak-env", "TOKEN", env={"TOKEN": SECRET})
    table.specs[("leaky", WS)].secrets = (SECRET,)
    lc.register("leaky", WS)
    assert (await lc.start_bundle("leaky", WS)).ok
    tools = lc.get_instance("leaky", WS).tools
    assert tools and all(SECRET not in repr(t) for t in tools)
    assert tools[0].description == f"uses the key {MASK} to sign"
    assert tools[0].input_schema["properties"]["q"]["description"] == f"query ({MASK})"
    with pytest.raises(MCPError) as caught:
        await lc.call_tool("leaky", WS, "fail")
    assert caught.value.code == -32603
    assert SECRET not in str(caught.value) and MASK in str(caught.value)
    assert caught.value.data == {"credential": MASK}
