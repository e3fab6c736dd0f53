"""Orphan reaping: a console killed with SIGKILL leaves bundles; the next start stops them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import psutil

from core.orphans import OrphanRecord, ProcessRecords, reap_orphans
from core.proctable import boot_id, start_since_boot
from tests.procs import marked_processes, pid_alive, wait_for

ROOT = Path(__file__).resolve().parents[2]

CONSOLE = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from core.lifecycle import LifecycleHooks
    from core.orphans import ProcessRecords
    from tests.core.engine_support import SpecTable, make_manager

    async def main():
        records = ProcessRecords(Path({run!r}))
        def on_process(server, ws, rec):
            records.record(rec) if rec else records.forget(ws, server)
        table = SpecTable({tag!r})
        lc = make_manager(table, Path({tmp!r}), hooks=LifecycleHooks(on_process=on_process))
        for name, args in (("plain", ()), ("stubborn", ("--ignore-term",)),
                           ("parent", ("--grandchild",)),
                           ("daemon", ("--setsid-grandchild",))):
            table.add(name, "ws_a", *args)
            lc.register(name, "ws_a")
            assert (await lc.start_bundle(name, "ws_a")).ok
        print("ready", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


async def test_bundles_left_by_a_killed_console_are_stopped(tmp_path: Path):
    tag = f"orph{uuid.uuid4().hex[:8]}"
    run_dir = tmp_path / "run"
    script = CONSOLE.format(root=str(ROOT), run=str(run_dir), tag=tag, tmp=str(tmp_path))
    console = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert console.stdout.readline().strip() == "ready"
        # plain + stubborn + parent + grandchild + daemon + its escaped grandchild
        assert await wait_for(lambda: sum(map(len, marked_processes(tag).values())) == 6)
        console.send_signal(signal.SIGKILL)
        console.wait()
        # Servers that honour stdin EOF exit by themselves; the one ignoring
        # SIGTERM/EOF and the grandchildren outlive the console.
        # One process each: the daemon server left (on EOF, at its own pace), its
        # escapee stayed; waited for as a whole, not the markers alone.
        survivors = {f"{tag}:ws_a/{n}": 1 for n in ("stubborn", "parent", "daemon")}
        counts = lambda: {marker: len(pids) for marker, pids in marked_processes(tag).items()}  # noqa: E731
        assert await wait_for(lambda: counts() == survivors, 10), counts()

        messages = await reap_orphans(ProcessRecords(run_dir), grace=0.5)
        assert await wait_for(lambda: marked_processes(tag) == {}, 5)
        assert len(messages) == 3 and all("from a previous session" in m for m in messages)
        assert list(run_dir.glob("*/*.json")) == []
    finally:
        console.kill()
        for pids in marked_processes(tag).values():
            for pid in pids:
                os.kill(pid, signal.SIGKILL)


async def test_a_reused_pid_is_never_taken_for_a_bundle(tmp_path: Path):
    records = ProcessRecords(tmp_path / "run")
    bystander = subprocess.Popen(
        ["sleep", "30"], env={**os.environ, "BUNDLE_CONSOLE_MARKER": "ws_a/x"}
    )
    pid = bystander.pid
    this_boot = boot_id()

    def record(server: str, since_boot: float, boot: str = this_boot) -> OrphanRecord:
        wall = psutil.Process(pid).create_time()
        return OrphanRecord(server, "ws_a", pid, pid, wall, f"ws_a/{server}", boot, since_boot)

    try:
        started = start_since_boot(pid)
        assert started is not None and this_boot
        # Same pid and marker, but started a tick later: the pid was reused.
        records.record(record("x", started - 0.01))
        assert await reap_orphans(records, grace=0.2) == []
        assert pid_alive(pid)
        # Same pid, start and marker, but recorded in another boot.
        records.record(record("x", started, boot="another-boot"))
        assert await reap_orphans(records, grace=0.2) == []
        assert pid_alive(pid)
        # Same pid and start time, but not carrying our marker: not ours either.
        records.record(record("y", started))
        assert await reap_orphans(records, grace=0.2) == []
        assert pid_alive(pid)
        # Everything matches: it is ours.
        records.record(record("x", started))
        assert len(await reap_orphans(records, grace=0.5)) == 1
        assert await wait_for(lambda: bystander.poll() is not None, 3)
    finally:
        bystander.kill()
        bystander.wait()


async def test_start_since_boot_is_stable_where_wall_clock_start_is_not():
    """psutil's create_time adds /proc/stat's btime, which can move by a second."""
    first = start_since_boot(os.getpid())
    assert first is not None
    for _ in range(200):
        assert start_since_boot(os.getpid()) == first


async def test_unreadable_record_is_reported_and_dropped(tmp_path: Path):
    bad = tmp_path / "run" / "ws_a" / "x.json"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    messages = await reap_orphans(ProcessRecords(tmp_path / "run"))
    assert len(messages) == 1 and str(bad) in messages[0] and "unreadable" in messages[0]


STALLED_CONSOLE = textwrap.dedent(
    """
    import asyncio, sys, threading, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from core.lifecycle import LifecycleHooks
    from core.orphans import ProcessRecords
    from tests.core.engine_support import SpecTable, make_manager

    async def main():
        records = ProcessRecords(Path({run!r}))
        def on_process(server, ws, rec):
            records.record(rec) if rec else records.forget(ws, server)
        table = SpecTable({tag!r})
        lc = make_manager(table, Path({tmp!r}), hooks=LifecycleHooks(on_process=on_process))
        table.add("svc", "ws_a", "--ignore-eof")
        lc.register("svc", "ws_a")
        loop = asyncio.get_running_loop()

        def stall():
            print("stalled", flush=True)
            time.sleep(3600)

        def audit(event, args):
            # In the spawning thread, just before the fork: the loop stalls before it
            # learns the pid (a GC pause, a busy moment), the process is started anyway.
            env = args[-1] if event == "subprocess.Popen" else None
            if env and {tag!r} in str(env.get("BUNDLE_CONSOLE_MARKER", "")):
                if threading.current_thread() is not threading.main_thread():
                    loop.call_soon_threadsafe(stall)
        sys.addaudithook(audit)
        await lc.start_bundle("svc", "ws_a")

    asyncio.run(main())
    """
)


async def test_a_process_spawned_while_the_loop_stalls_is_recorded_and_reaped(tmp_path: Path):
    """Killed between Popen and the loop resuming, the console has written no pid:
    the record written before Popen (spawn token, no pid yet) finds the process."""
    tag = f"orph{uuid.uuid4().hex[:8]}"
    run_dir = tmp_path / "run"
    script = STALLED_CONSOLE.format(root=str(ROOT), run=str(run_dir), tag=tag, tmp=str(tmp_path))
    console = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert console.stdout.readline().strip() == "stalled"
        assert await wait_for(lambda: marked_processes(tag) != {}, 10)
        console.send_signal(signal.SIGKILL)
        console.wait()
        [[pid]] = marked_processes(tag).values()  # it ignores EOF: it outlived the console
        [record] = ProcessRecords(run_dir).load()[0]
        assert record.pid == 0 and record.spawn_token  # the loop never got to write the pid
        messages = await reap_orphans(ProcessRecords(run_dir), grace=0.5)
        assert await wait_for(lambda: not pid_alive(pid), 5)
        assert len(messages) == 1 and f"(pid {pid})" in messages[0]
        assert list(run_dir.glob("*/*.json")) == []
    finally:
        console.kill()
        for pids in marked_processes(tag).values():
            for p in pids:
                os.kill(p, signal.SIGKILL)
