"""Fault-injection bundles end to end: a real Host, real MCPB bundle folders, real processes.

Each bundle is a temp folder whose manifest runs a fixture server
(``"command": "python", "args": ["${__dirname}/server.py", <flags>]``), installed
with ``Host.install_bundle`` and driven through ``host.lifecycle``. Processes are
checked in the OS process table by their marker, never by the console's bookkeeping.
Engine-level versions of several faults live in tests/core/test_lifecycle.py; these
go through the whole stack (manifest -> launch spec -> engine -> process).

Fault -> documented end state -> test. No test asserts a duration (house rule): a
"prompt" stop is one that ends before a sibling's handshake timeout (handshake_race),
a responsive loop is one a 1 ms watch saw turning part-way through the fault (Watch),
and a bound that would be broken by a hang is pytest-timeout's. Durations are figures:
stop times in benchmarks/stop.py, loop gaps of these faults in benchmarks/faults.py.

* crash at start: explicit start goes ``dead`` at once, no retry; error and stderr
  tail kept -> test_crash_at_start_is_dead_at_once_with_error_and_tail
* a running bundle that starts crash-looping: ``crashed`` + backoff restarts, ``dead``
  after the 5-restart budget (bound 30 s) -> test_running_bundle_that_crash_loops_goes_dead
* exit after N seconds: ``crashed``, restarted after the backoff steps, a new process
  each time (bound 10 s per restart) -> test_exit_after_n_seconds_restarts_with_backoff;
  and when every run ends that way before ``stable_uptime``: ``dead`` after the budget,
  each crash recorded (bound 30 s) -> test_crashing_after_every_good_start_goes_dead
* hang on ``initialize``: ``dead`` after the handshake timeout (named), process gone
  -> test_hang_on_initialize_is_dead_and_gone
* stop issued while the process is being spawned: done before a handshake timeout
  started earlier has fired -> test_stop_at_the_instant_of_starting_is_prompt; the same
  for a stop during a restart whose new process hangs
  -> test_stop_during_a_restart_whose_new_process_hangs_is_prompt
* ignore SIGTERM: SIGKILLed after term_grace, the log says so, on stop and on respawn
  -> test_sigterm_ignored_is_killed_within_the_stop_bound
* grandchildren: none left after stop, nor after the server is killed from outside
  -> test_grandchildren_never_outlive_their_server
* garbage on stdout: a running bundle when a handshake follows the garbage, else a
  clear error; never a hang
  -> test_garbage_before_a_good_handshake_runs, test_protocol_breakage_is_a_clear_error
* 10 MB stderr flood: log files stay under the cap, the loop keeps turning meanwhile
  -> test_stderr_flood_keeps_logs_capped_and_the_loop_responsive
* slow ``tools/list``: still ``running`` when within the handshake timeout, ``dead``
  with the timeout named when not -> test_slow_tools_list_within_and_beyond_the_timeout
* the first spawn of a session imports the MCP SDK (about a second of work): the
  loop keeps turning during the import -> test_first_spawn_does_not_stall_the_loop
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from core.host import Host
from core.logs import DEFAULT_BACKUPS, MAX_LINE
from core.states import BundleState
from tests.procs import marked_processes, pid_alive, wait_for
from tests.reliability.support import FAST, SERVERS, EventLog, opened, write_bundle, ws_name

S = BundleState
ROOT = Path(__file__).resolve().parents[2]
CHAOS = SERVERS / "chaos_server.py"


class Rig:
    """One Host, one workspace, bundles installed from fixture folders."""

    def __init__(self, host: Host, tmp_path: Path, tag: str) -> None:
        self.host = host
        self.tmp_path = tmp_path
        self.tag = tag
        self.ws = host.create_workspace(ws_name(tag)).id
        self.events = EventLog()
        host.lifecycle.subscribe(self.events)

    async def install(self, server: str, *flags: str, script: Path | None = None) -> None:
        folder = write_bundle(
            self.tmp_path / "src" / server, flags, **({"server": script} if script else {})
        )
        await self.host.install_bundle(self.ws, folder, server_name=server)

    def inst(self, server: str) -> Any:
        return self.host.lifecycle.get_instance(server, self.ws)

    def pids(self, server: str) -> list[int]:
        """Live processes of this bundle, from the OS process table."""
        return marked_processes(self.tag).get(f"{self.ws}/{server}", [])

    def moves(self, server: str) -> list[tuple[S, S]]:
        return self.events.transitions(self.ws, server)


@pytest.fixture
async def rig(tmp_path: Path, tag: str) -> AsyncIterator[Rig]:
    async with opened(tmp_path / "data", tag) as host:
        r = Rig(host, tmp_path, tag)
        yield r
        assert r.events.problems == []


@pytest.fixture
async def quick_rig(tmp_path: Path, tag: str) -> AsyncIterator[Rig]:
    """Short handshake timeout for the faults that end in one."""
    async with opened(tmp_path / "data", tag, handshake_timeout=1.0) as host:
        r = Rig(host, tmp_path, tag)
        yield r
        assert r.events.problems == []


@contextlib.asynccontextmanager
async def handshake_race(rig: Rig) -> AsyncIterator[Callable[[], bool]]:
    """A bundle hanging in ``initialize``, started first: the event to beat.

    Its handshake times out ``handshake_timeout`` after its spawn, which is before
    the operation under test began. An operation that ends while it still starts
    finished before a handshake timeout could have ended it: an order, not a clock.
    Yields ``unbeaten()``, True while the racer is still starting.
    """
    lc = rig.host.lifecycle
    await rig.install("racer", "--hang-init")
    start = asyncio.ensure_future(lc.start_bundle("racer", rig.ws))
    # spawned (in the OS table) and waiting for its answer: its timeout is running
    assert await wait_for(lambda: rig.inst("racer").state is S.STARTING and rig.pids("racer"), 10)
    await asyncio.sleep(0.05)  # the loop turn that arms its timer after the spawn
    try:
        yield lambda: rig.inst("racer").state is S.STARTING
    finally:
        await lc.stop_bundle("racer", rig.ws)
        await start


class Watch:
    """Calls ``probe()`` every millisecond of loop time and keeps what it saw, in order.

    A loop that keeps serving while a fault runs shows as many samples taken in
    the middle of it; a loop held for the whole fault sees only before and after.
    """

    def __init__(self, probe: Callable[[], Any]) -> None:
        self.probe = probe
        self.seen: list[Any] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.001)
            self.seen.append(self.probe())

    def __enter__(self) -> Watch:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def test_crash_at_start_is_dead_at_once_with_error_and_tail(rig: Rig) -> None:
    await rig.install("broken", "--crash-on-start")
    lc = rig.host.lifecycle
    result = await lc.start_bundle("broken", rig.ws)
    inst = rig.inst("broken")
    assert not result.ok and result.outcome == "failed"
    assert "exited with code 3 during the MCP handshake" in (result.error or "")
    assert "configured to crash on start" in (result.error or "")
    assert inst.state is S.DEAD and inst.last_error == result.error
    assert any("configured to crash on start" in line for line in inst.stderr_tail)
    assert "configured to crash on start" in lc.log_path("broken", rig.ws).read_text()
    assert rig.moves("broken") == [(S.STOPPED, S.STARTING), (S.STARTING, S.DEAD)]
    # An explicit start that fails is not retried: no backoff timer, no second spawn.
    assert inst.next_retry_at is None
    await asyncio.sleep(3 * FAST["backoff"][0])
    assert lc.spawn_count == 1 and inst.state is S.DEAD
    # An explicit Restart tries again and ends dead again, with the restart counted.
    again = await lc.respawn_bundle("broken", rig.ws)
    assert again.outcome == "failed" and inst.state is S.DEAD and inst.restarts == 1
    assert rig.pids("broken") == []


async def test_running_bundle_that_crash_loops_goes_dead(rig: Rig) -> None:
    flag = rig.tmp_path / "broken-from-now-on"
    await rig.install("doomed", "--crash-if-exists", str(flag))
    lc = rig.host.lifecycle
    assert (await lc.start_bundle("doomed", rig.ws)).ok
    inst = rig.inst("doomed")
    [pid] = rig.pids("doomed")
    flag.touch()
    os.kill(pid, signal.SIGKILL)  # the running bundle crashes; every restart fails
    assert await wait_for(lambda: inst.state is S.DEAD, 30)
    crashes = [m for m in rig.moves("doomed") if m[1] is S.CRASHED]
    assert len(crashes) == lc.max_restarts == 5
    assert inst.restarts == 5
    assert rig.moves("doomed")[-1] == (S.STARTING, S.DEAD)
    assert "gave up after 5 restarts" in (inst.last_error or "")
    assert "configured to crash on start" in (inst.last_error or "")
    assert rig.pids("doomed") == []
    # dead needs an explicit action; once the cause is gone, Start brings it back
    flag.unlink()
    assert (await lc.start_bundle("doomed", rig.ws)).ok and inst.state is S.RUNNING


async def test_exit_after_n_seconds_restarts_with_backoff(rig: Rig) -> None:
    await rig.install("flaky", "--exit-after", "0.3")
    lc = rig.host.lifecycle
    delays: list[float] = []
    lc.subscribe(
        lambda e: (
            delays.append((rig.inst("flaky").next_retry_at or 0.0) - e.at)
            if e.kind == "transition" and e.state is S.CRASHED
            else None
        )
    )
    assert (await lc.start_bundle("flaky", rig.ws)).ok
    inst = rig.inst("flaky")
    seen = {inst.pid}
    for restarts in (1, 2, 3):
        assert await wait_for(
            lambda n=restarts: inst.restarts == n and inst.state is S.RUNNING, 10
        ), (restarts, inst.state, inst.last_error)
        [pid] = rig.pids("flaky")  # exactly one process, and a new one
        assert pid == inst.pid and pid not in seen
        seen.add(pid)
    assert [round(d, 2) for d in delays[:3]] == list(FAST["backoff"][:3])
    assert "exited unexpectedly with code 4" in (inst.last_error or "")
    assert "exiting on schedule" in (inst.last_error or "")
    moves = rig.moves("flaky")
    assert moves[:5] == [
        (S.STOPPED, S.STARTING),
        (S.STARTING, S.RUNNING),
        (S.RUNNING, S.CRASHED),
        (S.CRASHED, S.STARTING),
        (S.STARTING, S.RUNNING),
    ]
    await lc.stop_bundle("flaky", rig.ws)
    assert inst.state is S.STOPPED and rig.pids("flaky") == []


async def test_crashing_after_every_good_start_goes_dead(rig: Rig) -> None:
    """Each run completes the handshake, then exits: the budget still runs out."""
    await rig.install("relapse", "--exit-after", "0.2")
    lc = rig.host.lifecycle
    assert (await lc.start_bundle("relapse", rig.ws)).ok
    inst = rig.inst("relapse")
    assert await wait_for(lambda: inst.state is S.DEAD, 30), (inst.state, inst.restarts)
    moves = rig.moves("relapse")
    # six runs, six crashes; the last crash is recorded, then the console gives up
    assert moves.count((S.STARTING, S.RUNNING)) == 6
    assert moves.count((S.RUNNING, S.CRASHED)) == 6
    assert moves[-2:] == [(S.RUNNING, S.CRASHED), (S.CRASHED, S.DEAD)]
    assert inst.restarts == 5 and inst.next_retry_at is None
    assert "gave up after 5 restarts" in (inst.last_error or "")
    assert "exited unexpectedly with code 4" in (inst.last_error or "")
    assert rig.pids("relapse") == []


async def test_hang_on_initialize_is_dead_and_gone(quick_rig: Rig) -> None:
    rig = quick_rig
    await rig.install("hang", "--hang-init")
    result = await rig.host.lifecycle.start_bundle("hang", rig.ws)  # (a hang: pytest-timeout)
    assert result.outcome == "failed"
    assert "did not complete the MCP handshake within 1 s" in (result.error or "")
    assert rig.inst("hang").state is S.DEAD
    assert rig.pids("hang") == []


async def test_stop_at_the_instant_of_starting_is_prompt(rig: Rig) -> None:
    """A Stop that lands while the process is being spawned must not wait out the handshake."""
    await rig.install("hang", "--hang-init")
    lc = rig.host.lifecycle
    stops: list[asyncio.Future[Any]] = []

    def stop_when_starting(event: Any) -> None:
        if (
            event.kind == "transition"
            and event.server_name == "hang"
            and event.state is S.STARTING
            and not stops
        ):
            stops.append(asyncio.ensure_future(lc.stop_bundle("hang", rig.ws)))

    lc.subscribe(stop_when_starting)
    async with handshake_race(rig) as unbeaten:
        result = await lc.start_bundle("hang", rig.ws)
        await stops[0]
        assert unbeaten(), "the stop waited out the handshake timeout"
    assert result.outcome == "stopped"
    assert rig.inst("hang").state is S.STOPPED
    assert await wait_for(lambda: rig.pids("hang") == [], 2)
    assert lc.lock_count == 0


async def test_stop_during_a_restart_whose_new_process_hangs_is_prompt(
    rig: Rig, tmp_path: Path
) -> None:
    """Stop clicked while a Restart is still stopping the old process wins at once.

    The restart's new process would hang in ``initialize`` (its new setting says so):
    the stop must not wait for that process's whole handshake timeout.
    """
    mode = {"mode": {"type": "string", "title": "Mode"}}
    folder = write_bundle(
        tmp_path / "src" / "svc", ["--ignore-term", "${user_config.mode}"], user_config=mode
    )
    await rig.host.install_bundle(rig.ws, folder, server_name="svc")
    lc = rig.host.lifecycle
    inst = rig.inst("svc")
    assert (await lc.start_bundle("svc", rig.ws)).ok
    save = asyncio.create_task(rig.host.set_user_config(rig.ws, "svc", {"mode": "--hang-init"}))
    assert await wait_for(lambda: inst.state is S.STOPPING, 5)
    async with handshake_race(rig) as unbeaten:
        await lc.stop_bundle("svc", rig.ws)
        result = await save
        assert unbeaten(), "the stop waited out the new process's handshake timeout"
    assert inst.state is S.STOPPED and rig.pids("svc") == []
    # the value is saved; the restart reports that the stop overtook it
    assert result.respawn is not None and result.respawn.outcome == "stopped", result
    assert rig.host.config_values(rig.ws, "svc") == {"mode": "--hang-init"}
    assert lc.lock_count == 0


@pytest.mark.parametrize("isolated", [False, True], ids=["unconfined", "sandboxed"])
async def test_sigterm_ignored_is_killed_within_the_stop_bound(rig: Rig, isolated: bool) -> None:
    await rig.install("stubborn", "--ignore-term")
    # Unconfined, the server itself ignores SIGTERM and must be SIGKILLed. Sandboxed, the
    # SIGTERM ends its bwrap and with it the pid namespace the server runs in.
    rig.host.set_sandbox(rig.ws, "stubborn", isolated=isolated)
    lc = rig.host.lifecycle
    assert (await lc.start_bundle("stubborn", rig.ws)).ok
    [pid] = rig.pids("stubborn")
    confined = rig.host.isolation(rig.ws, "stubborn")
    if isolated and not confined.isolated:
        await lc.stop_bundle("stubborn", rig.ws)
        pytest.skip(f"no sandbox on this machine: {confined.reason}")
    await lc.stop_bundle("stubborn", rig.ws)  # without the SIGKILL: a hang (pytest-timeout)
    assert not pid_alive(pid) and rig.pids("stubborn") == []
    log_text = lc.log_path("stubborn", rig.ws).read_text()
    if isolated:
        assert "isolated (bubblewrap)" in log_text and "killed by SIGTERM" in log_text
    else:
        assert "not isolated" in log_text or "isolated (" not in log_text
        assert "ignored SIGTERM; sending SIGKILL" in log_text
    # Respawn has to get rid of it the same way before the new one starts.
    assert (await lc.start_bundle("stubborn", rig.ws)).ok
    [old] = rig.pids("stubborn")
    assert (await lc.respawn_bundle("stubborn", rig.ws)).ok
    [new] = rig.pids("stubborn")
    assert new != old and not pid_alive(old)


async def test_grandchildren_never_outlive_their_server(rig: Rig) -> None:
    await rig.install("parent", "--grandchild")
    # The process-group path (no sandbox: the server and its grandchild are both in
    # the OS table). Sandboxed descendants are tests/sandbox's setsid test.
    rig.host.set_sandbox(rig.ws, "parent", isolated=False)
    lc = rig.host.lifecycle
    inst = rig.inst("parent")
    assert (await lc.start_bundle("parent", rig.ws)).ok
    assert await wait_for(lambda: len(rig.pids("parent")) == 2)
    first = set(rig.pids("parent"))
    # Killed from outside: the crash handling reaps the grandchild before restarting.
    os.kill(inst.pid, signal.SIGKILL)
    assert await wait_for(
        lambda: inst.state is S.RUNNING and inst.restarts == 1 and len(rig.pids("parent")) == 2,
        10,
    )
    assert not first & set(rig.pids("parent"))
    await lc.stop_bundle("parent", rig.ws)
    assert await wait_for(lambda: rig.pids("parent") == [], 5)
    assert inst.state is S.STOPPED


async def test_garbage_before_a_good_handshake_runs(rig: Rig, tmp_path: Path) -> None:
    await rig.install("noisy", "--garbage")
    await rig.install("binary", "--binary", script=CHAOS)
    await rig.install("huge", "--huge-line", str(17 * 1024 * 1024), script=CHAOS)
    lc = rig.host.lifecycle
    results = await asyncio.gather(
        *(lc.start_bundle(name, rig.ws) for name in ("noisy", "binary", "huge"))
    )
    assert [r.outcome for r in results] == ["started"] * 3, results
    for name in ("noisy", "binary", "huge"):
        inst = rig.inst(name)
        assert inst.state is S.RUNNING and inst.tools, name
        assert (await lc.call_tool(name, rig.ws, inst.tools[0].name, {"name": "X"})) is not None
        assert "ignored non-JSON stdout line" in lc.log_path(name, rig.ws).read_text()


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--garbage-forever", "It wrote non-JSON text to stdout: '<html>not a protocol</html>'"),
        ("--bad-init-result", "MCP handshake failed"),
        ("--init-error", "MCP handshake failed: cannot start"),
        ("--close-stdout", "MCP handshake failed"),
        ("--exit-mid-handshake", "exited with code 0 during the MCP handshake"),
    ],
)
async def test_protocol_breakage_is_a_clear_error(quick_rig: Rig, flag: str, message: str) -> None:
    rig = quick_rig
    server = flag.strip("-")
    await rig.install(server, flag, script=CHAOS)
    result = await rig.host.lifecycle.start_bundle(server, rig.ws)
    assert result.outcome == "failed" and message in (result.error or ""), result.error
    assert rig.inst(server).state is S.DEAD
    assert rig.pids(server) == []
    if flag == "--close-stdout" and rig.host.isolation(rig.ws, server).isolated:
        # confined too: bwrap's own copies of fds 0-2 must not hide the close
        assert "isolated (bubblewrap)" in rig.host.lifecycle.log_path(server, rig.ws).read_text()


async def test_stderr_flood_keeps_logs_capped_and_the_loop_responsive(rig: Rig) -> None:
    await rig.install("flood", "--stderr-flood", str(10 * 1024 * 1024))
    lc = rig.host.lifecycle
    log = lc.log_path("flood", rig.ws)

    def logged() -> int:
        return sum(p.stat().st_size for p in log.parent.glob(log.name + "*") if p.is_file())

    with Watch(logged) as watch:
        assert (await lc.start_bundle("flood", rig.ws)).ok
        # the flood is written before the handshake, but reaches us in chunks: let it drain
        assert await wait_for(lambda: log.with_name(log.name + ".2").exists(), 10)
        await asyncio.sleep(0.5)
    # The loop kept serving while the flood was written: the watch ran many times
    # between the first bytes and the last, and saw the log at many sizes meanwhile.
    final = watch.seen[-1]
    first = next(i for i, size in enumerate(watch.seen) if size)
    last = next(i for i, size in enumerate(watch.seen) if size == final)
    assert last - first >= 10 and len(set(watch.seen[first:last])) >= 5, watch.seen[::10]
    logs = sorted(log.parent.glob(log.name + "*"))
    assert [p.name for p in logs] == ["flood.log", "flood.log.1", "flood.log.2"]
    cap = lc.log_max_bytes * (DEFAULT_BACKUPS + 1) + MAX_LINE
    assert sum(p.stat().st_size for p in logs) <= cap
    assert rig.inst("flood").state is S.RUNNING
    assert len(lc.read_log("flood", rig.ws, 20)) == 20


async def test_slow_tools_list_within_and_beyond_the_timeout(tmp_path: Path, tag: str) -> None:
    async with opened(tmp_path / "data", tag, handshake_timeout=3.0) as host:
        rig = Rig(host, tmp_path, tag)
        await rig.install("slow", "--slow-tools", "1.0")
        await rig.install("slower", "--slow-tools", "6.0")
        lc = host.lifecycle
        slow, slower = await asyncio.gather(
            lc.start_bundle("slow", rig.ws), lc.start_bundle("slower", rig.ws)
        )
        assert slow.ok and rig.inst("slow").state is S.RUNNING
        assert [t.name for t in rig.inst("slow").tools] == ["env", "pid"]
        assert len(rig.pids("slow")) == 1
        assert slower.outcome == "failed" and "within 3 s" in (slower.error or "")
        assert rig.inst("slower").state is S.DEAD and rig.pids("slower") == []
        assert rig.events.problems == []


COLD_START = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, {root!r})
    from core.host import Host
    from tests.reliability.support import FAST

    async def main():
        host = await Host.open({data!r}, **FAST)
        ws = host.create_workspace({ws_name!r}).id
        await host.install_bundle(ws, {src!r}, server_name="cold")
        cold = "mcp_types" not in sys.modules
        seen = []  # how many modules were loaded, each loop millisecond

        async def watch():
            while True:
                await asyncio.sleep(0.001)
                seen.append(len(sys.modules))

        watcher = asyncio.ensure_future(watch())
        before = len(sys.modules)
        result = await host.lifecycle.start_bundle("cold", ws)
        after = len(sys.modules)
        watcher.cancel()
        await host.shutdown()
        during = sorted({{n for n in seen if before < n < after}})
        print(json.dumps({{"ok": result.ok, "cold": cold, "during": during}}))

    asyncio.run(main())
    """
)


async def test_first_spawn_does_not_stall_the_loop(tmp_path: Path, tag: str) -> None:
    """In a fresh interpreter (as the app starts), the first Start keeps the loop turning."""
    src = write_bundle(tmp_path / "src")
    script = COLD_START.format(
        root=str(ROOT),
        data=str(tmp_path / "data"),
        ws_name=ws_name(tag),
        src=str(src),
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(child.communicate(), 60)
    report = json.loads(out.decode().strip().splitlines()[-1])
    assert report["ok"] and report["cold"], report  # the SDK was imported by this Start
    # The SDK was imported while the loop kept turning: it saw the import part-way,
    # at many module counts. Imported on the loop, it would see only before and after.
    assert len(report["during"]) >= 5, report
