"""The lifecycle engine on real subprocesses (the fast dependency-free fixture server)."""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path

import pytest

from core.lifecycle import BundleLifecycleManager, LifecycleHooks
from core.models import LifecycleEvent
from core.orphans import OrphanRecord
from core.states import TRANSITIONS, BundleState, IllegalTransition, check_transition
from tests.core.engine_support import SpecTable, make_manager
from tests.procs import marked_processes, pid_alive, proc_env, wait_for

S = BundleState
WS = "ws_main"


def record(lc: BundleLifecycleManager) -> list[LifecycleEvent]:
    events: list[LifecycleEvent] = []
    lc.subscribe(events.append)
    return events


async def test_start_reaches_running_with_tools_and_pid(lc, table):
    table.add("echo", WS, env={"GREETING": "hello"})
    lc.register("echo", WS)
    events = record(lc)
    result = await lc.start_bundle("echo", WS)
    inst = lc.get_instance("echo", WS)
    assert result.ok and result.outcome == "started" and inst.state is S.RUNNING
    assert [t.name for t in inst.tools] == ["env", "pid"]
    assert (await lc.start_bundle("echo", WS)).outcome == "running"  # already: a no-op
    assert inst.pid and pid_alive(inst.pid)
    assert proc_env(inst.pid)["GREETING"] == "hello"
    called = await lc.call_tool("echo", WS, "pid")
    assert called.content[0].text == str(inst.pid)
    assert [(e.previous, e.state) for e in events] == [
        (S.STOPPED, S.STARTING),
        (S.STARTING, S.RUNNING),
    ]
    assert all(e.ws_id == WS and e.server_name == "echo" for e in events)


async def test_process_runs_in_its_own_process_group(lc, table):
    import os

    table.add("grp", WS)
    lc.register("grp", WS)
    await lc.start_bundle("grp", WS)
    pid = lc.get_instance("grp", WS).pid
    assert os.getpgid(pid) == pid != os.getpgid(0)


async def test_respawn_missing_instance_is_user_shaped(lc):
    result = await lc.respawn_bundle("ghost", WS)
    assert not result.ok
    assert result.error == (
        'Bundle "ghost" is not installed in workspace "ws_main". '
        "Install it first (Bundles → Install…)."
    )
    assert lc.lock_count == 0


async def test_protected_bundle_refuses_respawn_and_keeps_its_process(lc, table):
    table.add("guard", WS)
    lc.register("guard", WS, protected=True)
    await lc.start_bundle("guard", WS)
    pid = lc.get_instance("guard", WS).pid
    spawns = lc.spawn_count
    result = await lc.respawn_bundle("guard", WS)
    assert not result.ok and result.outcome == "protected" and "protected" in result.error
    inst = lc.get_instance("guard", WS)
    assert inst.state is S.RUNNING and inst.pid == pid and pid_alive(pid)
    assert lc.spawn_count == spawns
    assert lc.get_instance("guard", WS) is inst  # registration untouched


async def test_respawn_replaces_the_process_and_reads_credentials_at_spawn_time(lc, table):
    spec = table.add("cred", WS, env={"TOKEN": "first"})
    lc.register("cred", WS)
    await lc.start_bundle("cred", WS)
    old_pid = lc.get_instance("cred", WS).pid
    spec.env["TOKEN"] = "second"
    result = await lc.respawn_bundle("cred", WS)
    inst = lc.get_instance("cred", WS)
    assert result.ok and inst.state is S.RUNNING
    assert inst.pid != old_pid and not pid_alive(old_pid)
    assert proc_env(inst.pid)["TOKEN"] == "second"
    assert inst.restarts == 1


async def test_spawn_failure_marks_dead_with_error_and_stderr_tail(lc, table):
    table.add("broken", WS, "--crash-on-start")
    lc.register("broken", WS)
    events = record(lc)
    result = await lc.respawn_bundle("broken", WS)
    inst = lc.get_instance("broken", WS)
    assert not result.ok and inst.state is S.DEAD
    assert "exited with code 3" in result.error
    assert "configured to crash on start" in result.error
    assert any("configured to crash on start" in line for line in inst.stderr_tail)
    assert inst.last_error == result.error and inst.pid is None
    assert events[-1].state is S.DEAD and events[-1].error == result.error


async def test_missing_command_is_dead_with_clear_error(lc, table):
    table.add("nocmd", WS, command="/nonexistent/server-binary", script=None)
    lc.register("nocmd", WS)
    result = await lc.start_bundle("nocmd", WS)
    assert not result.ok and lc.get_instance("nocmd", WS).state is S.DEAD
    assert "/nonexistent/server-binary" in result.error and "No such file" in result.error


async def test_handshake_timeout_marks_dead_and_kills_process(table, tmp_path):
    """A server that never answers ``initialize`` (nor exits by itself) is given up on.

    Order and outcome, not a stopwatch: one spawn, no retry; its process is gone
    (killed: it would hang forever) before start_bundle returns; the bundle went
    STARTING -> DEAD, and the error names the configured timeout.
    """
    journal: list[tuple[str, object]] = []

    def on_process(server: str, ws: str, rec: OrphanRecord | None) -> None:
        # recorded before Popen (pid 0), then with its pid; None once it is gone
        journal.append(("gone", None) if rec is None else ("recorded", rec.pid or None))

    lc = make_manager(
        table, tmp_path, handshake_timeout=0.5, hooks=LifecycleHooks(on_process=on_process)
    )
    table.add("hang", WS, "--hang-init")
    lc.register("hang", WS)

    def on_event(event: LifecycleEvent) -> None:
        if event.kind == "transition":
            journal.append(("transition", (event.previous, event.state)))

    lc.subscribe(on_event)
    result = await lc.start_bundle("hang", WS)
    journal.append(("returned", result.outcome))
    assert not result.ok and "within 0.5 s" in result.error
    [pid] = [value for what, value in journal if what == "recorded" and value]
    assert isinstance(pid, int) and not pid_alive(pid) and marked_processes(table.tag) == {}
    assert journal == [
        ("transition", (S.STOPPED, S.STARTING)),
        ("recorded", None),
        ("recorded", pid),
        ("gone", None),
        ("transition", (S.STARTING, S.DEAD)),
        ("returned", result.outcome),
    ]
    assert lc.get_instance("hang", WS).state is S.DEAD and lc.spawn_count == 1
    await lc.shutdown()


async def test_needs_setup_does_not_spawn(lc, table):
    spec = table.add("setup", WS, required=("API_KEY",))
    lc.register("setup", WS)
    assert lc.check_setup("setup", WS).startswith('Missing required config "API_KEY"')
    result = await lc.start_bundle("setup", WS)
    inst = lc.get_instance("setup", WS)
    assert not result.ok and result.outcome == "needs_setup"
    assert inst.state is S.STOPPED and lc.spawn_count == 0
    spec.env["API_KEY"] = "k-123"
    assert lc.check_setup("setup", WS) is None
    assert (await lc.respawn_bundle("setup", WS)).ok
    assert inst.needs_setup is None and proc_env(inst.pid)["API_KEY"] == "k-123"


async def test_respawns_of_one_key_never_overlap(lc, table, tmp_path):
    """Observed from real launches: each process's start comes after the previous one's exit."""
    journal = tmp_path / "journal"
    table.add("serial", WS, "--journal", str(journal))
    lc.register("serial", WS)
    await lc.start_bundle("serial", WS)
    samples: list[int] = []
    sampling = True

    async def sample() -> None:
        while sampling:
            samples.append(len(marked_processes(table.tag).get(f"{table.tag}:{WS}/serial", [])))
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    calls = []
    for _ in range(8):  # staggered so they do not all coalesce into one
        calls.append(asyncio.create_task(lc.respawn_bundle("serial", WS)))
        await asyncio.sleep(0.01)
    results = await asyncio.gather(*calls)
    sampling = False
    await sampler
    assert all(r.ok for r in results)
    assert lc.spawn_count >= 3  # several really ran, one after another
    lines = [line.split() for line in journal.read_text().splitlines()]
    live = 0
    max_live = 0
    for word, _pid, _t in lines:
        live += 1 if word == "start" else -1
        max_live = max(max_live, live)
    assert max_live == 1, lines
    assert max(samples) <= 1
    assert lc.lock_count == 0


async def test_different_keys_do_not_wait_on_each_other(table, tmp_path):
    lc = make_manager(table, tmp_path, handshake_timeout=1.0)
    table.add("slow", WS, "--hang-init")
    table.add("fast", WS)
    lc.register("slow", WS)
    lc.register("fast", WS)
    slow = asyncio.create_task(lc.respawn_bundle("slow", WS))
    await asyncio.sleep(0.05)
    assert (await lc.respawn_bundle("fast", WS)).ok
    # Order, not time: the slow key's handshake (it never answers) is still pending.
    assert not slow.done()
    await slow
    await lc.shutdown()


async def test_twenty_concurrent_writes_spawn_at_most_twice_and_last_wins(lc, table):
    spec = table.add("coal", WS, env={"VALUE": "v0"})
    lc.register("coal", WS)
    await lc.start_bundle("coal", WS)
    before = lc.spawn_count

    async def write_then_respawn(i: int) -> None:
        spec.env["VALUE"] = f"v{i}"  # the credential write
        await asyncio.sleep(0)
        result = await lc.respawn_bundle("coal", WS)
        assert result.ok

    await asyncio.gather(*(write_then_respawn(i) for i in range(1, 21)))
    assert lc.spawn_count - before <= 2
    inst = lc.get_instance("coal", WS)
    assert inst.state is S.RUNNING
    assert proc_env(inst.pid)["VALUE"] == "v20"
    assert len(marked_processes(table.tag)[f"{table.tag}:{WS}/coal"]) == 1
    assert lc.lock_count == 0


async def test_lock_map_is_empty_after_churn(lc, table):
    for n in range(4):
        table.add(f"b{n}", WS)
        lc.register(f"b{n}", WS)
    ops = []
    for round_ in range(5):
        for n in range(4):
            name = f"b{n}"
            op = (lc.respawn_bundle, lc.stop_bundle, lc.start_bundle)[(round_ + n) % 3]
            ops.append(op(name, WS))
    await asyncio.gather(*ops)
    assert lc.lock_count == 0
    assert lc._pending == {}


async def test_crash_goes_crashed_then_restarts_with_backoff(lc, table):
    spec = table.add("flaky", WS, "--exit-after", "0.2")
    lc.register("flaky", WS)
    events = record(lc)
    await lc.start_bundle("flaky", WS)
    first_pid = lc.get_instance("flaky", WS).pid
    spec.args = []  # the restarted process stays up
    inst = lc.get_instance("flaky", WS)
    assert await wait_for(lambda: inst.state is S.RUNNING and inst.pid != first_pid, 10)
    moves = [(e.previous, e.state) for e in events if e.kind == "transition"]
    assert (S.RUNNING, S.CRASHED) in moves
    assert moves[-2:] == [(S.CRASHED, S.STARTING), (S.STARTING, S.RUNNING)]
    crash = next(e for e in events if e.state is S.CRASHED)
    assert "exited unexpectedly with code 4" in crash.error
    assert "exiting on schedule" in crash.error
    assert inst.restarts == 1


async def test_repeated_crashes_end_dead_after_the_retry_budget(lc, table, tmp_path):
    flag = tmp_path / "broken-now"
    table.add("doomed", WS, "--crash-if-exists", str(flag), "--exit-after", "0.1")
    lc.register("doomed", WS)
    events = record(lc)
    assert (await lc.start_bundle("doomed", WS)).ok
    flag.touch()
    inst = lc.get_instance("doomed", WS)
    assert await wait_for(lambda: inst.state is S.DEAD, 15)
    crashes = [e for e in events if e.state is S.CRASHED]
    assert len(crashes) == 5  # the crash, then 4 failed restarts; the 5th failure is final
    assert inst.restarts == 5
    assert "gave up after 5 restarts" in inst.last_error
    assert "configured to crash on start" in inst.last_error
    assert marked_processes(table.tag) == {}


async def test_backoff_delays_follow_the_schedule(table, tmp_path):
    lc = make_manager(table, tmp_path, backoff=(0.2, 0.4, 0.8))
    flag = tmp_path / "broken-now"
    table.add("timed", WS, "--crash-if-exists", str(flag), "--exit-after", "0.05")
    lc.register("timed", WS)
    delays: list[float] = []
    lc.subscribe(
        lambda e: (
            delays.append(lc.get_instance("timed", WS).next_retry_at - e.at)
            if e.state is S.CRASHED
            else None
        )
    )
    await lc.start_bundle("timed", WS)
    flag.touch()
    inst = lc.get_instance("timed", WS)
    assert await wait_for(lambda: inst.state is S.DEAD, 15)
    assert [round(d, 1) for d in delays[:3]] == [0.2, 0.4, 0.8]
    await lc.shutdown()


async def test_stable_uptime_resets_the_failure_count(table, tmp_path):
    lc = make_manager(table, tmp_path, stable_uptime=0.3, max_restarts=2)
    table.add("steady", WS, "--exit-after", "0.5")
    lc.register("steady", WS)
    await lc.start_bundle("steady", WS)
    inst = lc.get_instance("steady", WS)
    # Each run lasts longer than stable_uptime, so crashes never add up to "dead".
    assert await wait_for(lambda: inst.restarts >= 4, 15)
    assert inst.state is not S.DEAD
    await lc.shutdown()


async def test_deliberate_stop_is_never_revived(lc, table):
    table.add("calm", WS)
    lc.register("calm", WS)
    await lc.start_bundle("calm", WS)
    pid = lc.get_instance("calm", WS).pid
    await lc.stop_bundle("calm", WS)
    inst = lc.get_instance("calm", WS)
    # A bound 40 times the first backoff step: a revival would show up long before.
    assert not await wait_for(lambda: lc.spawn_count > 1 or inst.state is not S.STOPPED, 2.0)
    assert inst.state is S.STOPPED and inst.pid is None and not pid_alive(pid)
    assert lc.spawn_count == 1


async def test_stop_kills_a_server_that_ignores_sigterm_within_the_bound(lc, table):
    table.add("stubborn", WS, "--ignore-term")
    lc.register("stubborn", WS)
    await lc.start_bundle("stubborn", WS)
    pid = lc.get_instance("stubborn", WS).pid
    await lc.stop_bundle("stubborn", WS)
    assert not pid_alive(pid)
    log_text = lc.log_path("stubborn", WS).read_text()
    assert "ignored SIGTERM; sending SIGKILL" in log_text


async def test_stop_leaves_no_grandchild(lc, table):
    table.add("parent", WS, "--grandchild")
    lc.register("parent", WS)
    await lc.start_bundle("parent", WS)
    inst = lc.get_instance("parent", WS)
    assert await wait_for(
        lambda: len(marked_processes(table.tag).get(f"{table.tag}:{WS}/parent", [])) == 2
    )
    await lc.stop_bundle("parent", WS)
    assert await wait_for(lambda: marked_processes(table.tag) == {}, 5)
    assert inst.state is S.STOPPED


async def test_stop_leaves_no_grandchild_that_left_the_group(lc, table):
    table.add("daemon", WS, "--setsid-grandchild")
    lc.register("daemon", WS)
    await lc.start_bundle("daemon", WS)
    inst = lc.get_instance("daemon", WS)
    marker = f"{table.tag}:{WS}/daemon"
    assert await wait_for(lambda: len(marked_processes(table.tag).get(marker, [])) == 2)
    escapee = next(p for p in marked_processes(table.tag)[marker] if p != inst.pid)
    assert os.getpgid(escapee) != inst.pid  # really outside the server's group
    await lc.stop_bundle("daemon", WS)
    assert await wait_for(lambda: marked_processes(table.tag) == {}, 5)
    assert f"left outside its group: {escapee}" in lc.log_path("daemon", WS).read_text()


async def test_a_crash_leaves_no_grandchild_that_left_the_group(lc, table):
    table.add("daemon", WS, "--setsid-grandchild", "--exit-after", "0.5")
    lc.register("daemon", WS)
    await lc.start_bundle("daemon", WS)
    inst = lc.get_instance("daemon", WS)
    first = inst.pid
    marker = f"{table.tag}:{WS}/daemon"
    assert await wait_for(lambda: len(marked_processes(table.tag).get(marker, [])) == 2)
    escapee = next(p for p in marked_processes(table.tag)[marker] if p != first)
    assert await wait_for(lambda: inst.restarts >= 1, 10)  # it crashed and was restarted
    assert await wait_for(lambda: not pid_alive(escapee), 5)
    await lc.stop_bundle("daemon", WS)
    assert await wait_for(lambda: marked_processes(table.tag) == {}, 5)


async def test_stop_during_a_hanging_handshake_is_prompt(table, tmp_path):
    # A handshake timeout longer than the test's own (pytest-timeout): a stop that
    # waited for it would fail the test, and the start must end "stopped", not timed out.
    lc = make_manager(table, tmp_path, handshake_timeout=600.0)
    table.add("hang", WS, "--hang-init")
    lc.register("hang", WS)
    start = asyncio.create_task(lc.start_bundle("hang", WS))
    inst = lc.get_instance("hang", WS)
    assert await wait_for(lambda: inst.state is S.STARTING)
    await lc.stop_bundle("hang", WS)
    assert (await start).outcome == "stopped"
    assert inst.state is S.STOPPED and marked_processes(table.tag) == {}
    await lc.shutdown()


async def test_shutdown_stops_everything_even_while_starting(table, tmp_path):
    lc = make_manager(table, tmp_path, handshake_timeout=600.0)  # never waited out (see above)
    for name, args in (("a", ()), ("b", ("--ignore-eof",)), ("c", ("--grandchild",))):
        table.add(name, WS, *args)
        lc.register(name, WS)
        await lc.start_bundle(name, WS)
    table.add("d", WS, "--hang-init")
    lc.register("d", WS)
    starting = asyncio.create_task(lc.start_bundle("d", WS))
    await wait_for(lambda: lc.get_instance("d", WS).state is S.STARTING)
    await lc.shutdown()
    assert (await starting).outcome == "stopped"
    assert await wait_for(lambda: marked_processes(table.tag) == {}, 3)
    assert {i.state for i in lc.instances()} == {S.STOPPED}
    assert (await lc.start_bundle("a", WS)).ok is False  # closed for business


async def test_killed_from_outside_is_revived(lc, table):
    import os
    import signal

    table.add("victim", WS)
    lc.register("victim", WS)
    await lc.start_bundle("victim", WS)
    inst = lc.get_instance("victim", WS)
    pid = inst.pid
    os.kill(pid, signal.SIGKILL)
    assert await wait_for(lambda: inst.state is S.RUNNING and inst.pid not in (None, pid), 10)
    assert "was killed by SIGKILL" in inst.last_error and "code -9" not in inst.last_error


async def test_garbage_on_stdout_still_runs_and_is_logged(lc, table):
    table.add("noisy", WS, "--garbage")
    lc.register("noisy", WS)
    assert (await lc.start_bundle("noisy", WS)).ok
    assert (
        "ignored non-JSON stdout line: 'this is not JSON'" in lc.log_path("noisy", WS).read_text()
    )


async def test_stderr_flood_keeps_log_under_cap(table, tmp_path):
    lc = make_manager(table, tmp_path, log_max_bytes=256 * 1024, handshake_timeout=30)
    table.add("flood", WS, "--stderr-flood", str(10 * 1024 * 1024))
    lc.register("flood", WS)
    assert (await lc.start_bundle("flood", WS)).ok
    log_dir = lc.log_path("flood", WS).parent
    total = sum(p.stat().st_size for p in log_dir.iterdir())
    assert total <= 3 * 256 * 1024 + 2048
    assert len(lc.read_log("flood", WS, 10)) == 10
    await lc.shutdown()


async def test_secrets_are_redacted_from_log_errors_and_events(lc, table):
    secret = "s3cr3t-value-XYZ"
    table.add(
        "leaky",
        WS,
        "--print-env",
        "TOKEN",
        "--crash-on-start",
        env={"TOKEN": secret},
        secrets=(secret,),
    )
    lc.register("leaky", WS)
    events = record(lc)
    result = await lc.start_bundle("leaky", WS)
    assert not result.ok
    texts = [result.error, lc.get_instance("leaky", WS).last_error]
    texts += [e.error or "" for e in events] + lc.get_instance("leaky", WS).stderr_tail
    texts.append(lc.log_path("leaky", WS).read_text())
    texts += lc.read_log("leaky", WS)
    assert all(secret not in t for t in texts)
    assert any("TOKEN=••••" in t for t in texts)


def test_transition_table_rejects_illegal_moves():
    with pytest.raises(IllegalTransition):
        check_transition(S.STOPPED, S.RUNNING)
    with pytest.raises(IllegalTransition):
        check_transition(S.DEAD, S.RUNNING)
    assert set(TRANSITIONS) == set(BundleState)


async def test_every_published_transition_is_legal(lc, table):
    table.add("x", WS, "--exit-after", "0.2")
    lc.register("x", WS)
    events = record(lc)
    await lc.start_bundle("x", WS)
    await asyncio.sleep(0.6)
    await lc.respawn_bundle("x", WS)
    await lc.stop_bundle("x", WS)
    transitions = [e for e in events if e.kind == "transition"]
    assert len(transitions) >= 6
    # Each event starts where the previous one ended: the events are a true record
    # of the instance's states (the table itself is enforced by _transition, see
    # test_lifecycle_guards.test_an_illegal_transition_raises_and_publishes_nothing).
    assert transitions[0].previous is S.STOPPED
    for before, after in itertools.pairwise(transitions):
        assert after.previous is before.state, (before, after)
    for e in transitions:
        assert e.state in TRANSITIONS[e.previous]


async def test_unregister_stops_and_forgets(lc, table):
    table.add("gone", WS)
    lc.register("gone", WS)
    await lc.start_bundle("gone", WS)
    events = record(lc)
    await lc.unregister("gone", WS)
    assert lc.get_instance("gone", WS) is None
    assert events[-1].kind == "unregistered"
    assert marked_processes(table.tag) == {}
    assert not (await lc.respawn_bundle("gone", WS)).ok


def test_default_schedule_matches_the_design(tmp_path: Path):
    lc = BundleLifecycleManager(SpecTable("x"), tmp_path)
    assert lc.backoff == (1, 2, 4, 8, 16)
    assert lc.max_restarts == 5 and lc.stable_uptime == 30.0 and lc.handshake_timeout == 30.0


async def test_mass_starts_are_bounded_by_start_slots(table, tmp_path):
    lc = make_manager(table, tmp_path, max_concurrent_starts=2)
    names = [f"m{n}" for n in range(6)]
    for name in names:
        table.add(name, WS, "--slow-tools", "0.2")
        lc.register(name, WS)
    starting: set[str] = set()
    most = 0

    def watch(event: LifecycleEvent) -> None:
        nonlocal most
        if event.state is S.STARTING:
            starting.add(event.server_name)
        else:
            starting.discard(event.server_name)
        most = max(most, len(starting))

    lc.subscribe(watch)
    results = await asyncio.gather(*(lc.start_bundle(name, WS) for name in names))
    assert all(r.ok for r in results)
    assert most == 2
    await lc.shutdown()


async def test_mass_stops_are_bounded_by_stop_slots(table, tmp_path):
    """Six bundles that only die on SIGTERM, two stop slots: they exit in three waves.

    Each stop waits ``stop_grace`` for the process to leave on stdin EOF before
    SIGTERM, so a wave cannot begin until the one before it has exited, and
    waves are at least ``stop_grace`` apart. Without slots all six would get
    SIGTERM together.
    """
    grace = 0.5
    lc = make_manager(table, tmp_path, max_concurrent_starts=2, stop_grace=grace)
    journal = tmp_path / "journal"
    names = [f"s{n}" for n in range(6)]
    for name in names:
        table.add(name, WS, "--ignore-eof", "--journal", str(journal))
        lc.register(name, WS)
    assert all(r.ok for r in await asyncio.gather(*(lc.start_bundle(n, WS) for n in names)))
    await asyncio.gather(*(lc.stop_bundle(n, WS) for n in names))
    exits = sorted(
        float(t)
        for word, _, t in map(str.split, journal.read_text().splitlines())
        if word == "exit"
    )
    assert len(exits) == 6
    waves = 1 + sum(1 for a, b in itertools.pairwise(exits) if b - a > grace / 2)
    assert waves >= 3, exits
    assert marked_processes(table.tag) == {}


async def test_shutdown_takes_no_stop_slot(table, tmp_path):
    grace = 1.0
    lc = make_manager(table, tmp_path, max_concurrent_starts=1, stop_grace=grace)
    journal = tmp_path / "journal"
    for name in ("a", "b", "c"):
        table.add(name, WS, "--ignore-eof", "--journal", str(journal))
        lc.register(name, WS)
        assert (await lc.start_bundle(name, WS)).ok
    await lc.shutdown()
    exits = sorted(
        float(t)
        for word, _, t in map(str.split, journal.read_text().splitlines())
        if word == "exit"
    )
    # one wave; with one slot each would wait for the one before: 2 * grace from first to last
    assert len(exits) == 3 and exits[-1] - exits[0] < grace, exits
    assert marked_processes(table.tag) == {}


async def test_a_hanging_handshake_gives_its_start_slot_back(table, tmp_path):
    # The hanging handshake would hold the only slot for 600 s: the second start
    # finishing at all (within the test's timeout) shows the slot came back.
    lc = make_manager(
        table, tmp_path, max_concurrent_starts=1, start_slot_hold=0.3, handshake_timeout=600.0
    )
    table.add("hang", WS, "--hang-init")
    table.add("fast", WS)
    lc.register("hang", WS)
    lc.register("fast", WS)
    hanging = asyncio.create_task(lc.start_bundle("hang", WS))
    await wait_for(lambda: lc.get_instance("hang", WS).state is S.STARTING)
    assert (await lc.start_bundle("fast", WS)).ok
    assert lc.get_instance("hang", WS).state is S.STARTING  # still waiting on its handshake
    await lc.stop_bundle("hang", WS)
    await hanging
    await lc.shutdown()
