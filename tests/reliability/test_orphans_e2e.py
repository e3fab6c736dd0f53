"""Orphan reaping end to end: a console (a child process running Host) is SIGKILLed.

Its bundles that outlive it (one ignores SIGTERM and stdin EOF, one ignores EOF,
one left a grandchild) must be found by the next ``Host.open`` from the process
records under ``<data>/run`` and stopped *before* any bundle starts again; the
restored bundles then run once each. A record whose pid now belongs to another
process (pid reuse, made real here with ``ns_last_pid`` when the kernel allows
it) must never make the console kill that process, even when it carries the same
marker: the OS start time tells them apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from core.errors import ConsoleError
from core.host import Host
from core.models import MARKER_ENV
from tests.procs import marked_processes, pid_alive, wait_for
from tests.reliability.support import FAST, opened, write_bundle, ws_name

ROOT = Path(__file__).resolve().parents[2]
PR_SET_CHILD_SUBREAPER = 36

CONSOLE = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(0, {root!r})
    from core.host import Host
    from tests.reliability.support import FAST

    async def main():
        host = await Host.open({data!r}, **FAST)
        ws = host.create_workspace({ws_name!r}).id
        pids = {{}}
        for server, src in {sources!r}.items():
            await host.install_bundle(ws, src, server_name=server)
            assert (await host.lifecycle.start_bundle(server, ws)).ok
            pids[server] = host.lifecycle.get_instance(server, ws).pid
        print(json.dumps({{"ws": ws, "pids": pids}}), flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


@contextlib.contextmanager
def subreaper() -> Iterator[None]:
    """Adopt the orphans of our children (here PID 1 never reaps them) so we can reap them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("cannot become a child subreaper")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def reap(pids: list[int]) -> None:
    """Collect the exit status of adopted processes that are dead (zombies otherwise)."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


async def kill_console(
    tmp_path: Path, tag: str, sources: dict[str, Path]
) -> tuple[str, dict[str, int]]:
    """Run a console with ``sources`` started, SIGKILL it; returns its ws id and bundle pids."""
    script = CONSOLE.format(
        root=str(ROOT),
        data=str(tmp_path / "data"),
        ws_name=ws_name(tag),
        sources={k: str(v) for k, v in sources.items()},
    )
    console = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE
    )
    assert console.stdout is not None
    line = await asyncio.wait_for(console.stdout.readline(), 60)
    report = json.loads(line)
    console.kill()
    await console.wait()
    return report["ws"], report["pids"]


async def test_leftovers_of_a_killed_console_are_stopped_before_restore(
    tmp_path: Path, tag: str
) -> None:
    journal = tmp_path / "journal"
    sources = {
        "plain": write_bundle(tmp_path / "plain"),
        "stubborn": write_bundle(tmp_path / "stubborn", ["--ignore-term"]),
        "parent": write_bundle(tmp_path / "parent", ["--grandchild"]),
        "lingering": write_bundle(
            tmp_path / "lingering", ["--ignore-eof", "--journal", str(journal)]
        ),
    }
    with subreaper():
        ws, old = await kill_console(tmp_path, tag, sources)
        records = sorted(p.name for p in (tmp_path / f"data/run/{ws}").iterdir())
        assert records == sorted(f"{s}.json" for s in sources)
        # "plain" honours stdin EOF and goes with the console; the others stay behind
        assert await wait_for(lambda: not pid_alive(old["plain"]), 5)
        left = marked_processes(tag)
        assert set(left) == {f"{ws}/stubborn", f"{ws}/parent", f"{ws}/lingering"}, left
        leftover_pids = [pid for pids in left.values() for pid in pids]
        try:
            async with opened(tmp_path / "data", tag) as host:  # restore=True
                # three leftovers reported, all gone, and each bundle runs once again
                assert len(host.reaped) == 3, host.reaped
                assert all("from a previous session" in m for m in host.reaped)
                assert not any(pid_alive(pid) for pid in leftover_pids)
                now = marked_processes(tag)
                for server in sources:
                    inst = host.lifecycle.get_instance(server, ws)
                    assert inst is not None and inst.pid not in leftover_pids
                    leaders = [
                        p for p in now[f"{ws}/{server}"] if psutil.Process(p).ppid() == os.getpid()
                    ]
                    assert leaders == [inst.pid], (server, now)
                # the old "lingering" process was gone before its successor started
                lines = [line.split() for line in journal.read_text().splitlines()]
                # (a sandboxed server journals its pid namespace's pid, the same for
                # both: the order of the lines tells the two processes apart)
                kinds = [w for w, _p, _t in lines]
                assert kinds[:3] == ["start", "exit", "start"], lines
        finally:
            for pid in leftover_pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await wait_for(lambda: not any(pid_alive(p) for p in leftover_pids), 5)
            reap(leftover_pids)


def _spawn_with_pid(pid: int, env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """Start ``sleep`` with exactly ``pid`` (the kernel hands out ns_last_pid + 1)."""
    for _ in range(20):
        try:
            Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        except OSError:
            return None
        proc = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
        if pid_alive(pid):  # someone else got it
            return None
    return None


async def test_a_reused_pid_with_our_marker_is_left_alone(tmp_path: Path, tag: str) -> None:
    sources = {"victim": write_bundle(tmp_path / "victim", ["--ignore-eof"])}
    bystander: subprocess.Popen[bytes] | None = None
    with subreaper():
        ws, old = await kill_console(tmp_path, tag, sources)
        pid = old["victim"]
        record = json.loads((tmp_path / f"data/run/{ws}/victim.json").read_text())
        assert record["pid"] == pid and record["marker"] == f"{ws}/victim"
        # the bundle dies after its console, and its pid is given to an unrelated
        # process that even carries the same marker (the worst case)
        os.killpg(pid, signal.SIGKILL)  # the whole bundle (a sandbox is more than its pid)
        assert await wait_for(lambda: not pid_alive(pid), 5)
        reap([pid])
        env = {**os.environ, MARKER_ENV: f"{ws}/victim"}
        bystander = _spawn_with_pid(pid, env)
        real_reuse = bystander is not None
        if bystander is None:  # the kernel would not reuse it: point the record at one
            bystander = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
            record["pid"] = record["pgid"] = bystander.pid
            (tmp_path / f"data/run/{ws}/victim.json").write_text(json.dumps(record))
        try:
            assert psutil.Process(bystander.pid).create_time() > record["create_time"]
            host = await Host.open(tmp_path / "data", restore=False, **FAST)
            try:
                assert host.reaped == []
                assert bystander.poll() is None and pid_alive(bystander.pid)
                assert not (tmp_path / f"data/run/{ws}/victim.json").exists()
                # the real bundle starts normally next to it
                assert (await host.restore())[0].ok
                inst = host.lifecycle.get_instance("victim", ws)
                assert inst is not None and inst.pid != bystander.pid
            finally:
                await host.shutdown()
            # shutdown stopped the bundle and did not touch the bystander either
            assert marked_processes(tag) == {f"{ws}/victim": [bystander.pid]}
            print(f"\npid reuse {'made real' if real_reuse else 'emulated in the record'}")
        finally:
            bystander.kill()
            bystander.wait()


async def test_a_clean_shutdown_leaves_no_records_to_reap(tmp_path: Path, tag: str) -> None:
    """A normal shutdown removes every record, so the next open reaps nothing."""
    async with opened(tmp_path / "data", tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        await host.install_bundle(ws, write_bundle(tmp_path / "b", ["--ignore-term"]), "b")
        assert (await host.lifecycle.start_bundle("b", ws)).ok
        assert (tmp_path / f"data/run/{ws}/b.json").exists()
    assert list((tmp_path / "data/run").glob("*/*.json")) == []
    host = await Host.open(tmp_path / "data", restore=False, **FAST)
    try:
        assert host.reaped == []
    finally:
        await host.shutdown()


async def test_a_second_console_on_the_same_data_dir_leaves_the_first_alone(
    tmp_path: Path, tag: str
) -> None:
    """The app launched twice: the records describe *live* bundles of a live console.

    The second console must refuse the data dir with a clear error rather than
    "reap" the first one's bundles (which the first would restart: two of each).
    """
    sources = {"svc": write_bundle(tmp_path / "svc")}
    script = CONSOLE.format(
        root=str(ROOT),
        data=str(tmp_path / "data"),
        ws_name=ws_name(tag),
        sources={k: str(v) for k, v in sources.items()},
    )
    first = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=subprocess.PIPE
    )
    try:
        assert first.stdout is not None
        report = json.loads(await asyncio.wait_for(first.stdout.readline(), 60))
        ws, pid = report["ws"], report["pids"]["svc"]
        with pytest.raises(ConsoleError) as info:
            await Host.open(tmp_path / "data", **FAST)
        assert str(tmp_path / "data") in str(info.value)
        assert f"pid {first.pid}" in str(info.value)
        # A much longer bound than a wrong reap (and restart) needs to show itself.
        assert not await wait_for(lambda: marked_processes(tag) != {f"{ws}/svc": [pid]}, 3.0)
        assert marked_processes(tag) == {f"{ws}/svc": [pid]}
        assert (tmp_path / f"data/run/{ws}/svc.json").exists()
    finally:
        first.kill()
        await first.wait()
    # once the first is gone (killed: its lock goes with it), the data dir opens again
    async with opened(tmp_path / "data", tag) as host:  # restores svc: one process
        inst = host.lifecycle.get_instance("svc", ws)
        assert inst is not None and inst.pid != pid
        assert marked_processes(tag) == {f"{ws}/svc": [inst.pid]}


HANDSHAKE_CONSOLE = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from core.host import Host
    from tests.reliability.support import FAST

    async def main():
        host = await Host.open({data!r}, restore=False, **FAST)
        spaces = host.workspaces()
        ws = spaces[0].id if spaces else host.create_workspace({ws_name!r}).id
        if not host.workspace(ws).bundles:
            await host.install_bundle(ws, {source!r}, server_name="slow")
        await host.lifecycle.respawn_bundle("slow", ws)  # hangs in the handshake

    asyncio.run(main())
    """
)


async def test_a_console_killed_mid_handshake_leaves_a_record_and_is_reaped(
    tmp_path: Path, tag: str
) -> None:
    """The new process is recorded the moment it exists, not after its handshake.

    Each round SIGKILLs a console while a respawn waits on a server that never
    answers ``initialize`` and ignores stdin EOF; the next open must reap it.
    The OS process table, not the console, says whether anything survived.
    """
    journal = tmp_path / "journal"
    source = write_bundle(
        tmp_path / "slow", ["--hang-init", "--ignore-eof", "--journal", str(journal)]
    )
    script = HANDSHAKE_CONSOLE.format(
        root=str(ROOT), data=str(tmp_path / "data"), ws_name=ws_name(tag), source=str(source)
    )
    seen: list[int] = []
    with subreaper():
        try:
            for round_ in range(1, 5):
                console = await asyncio.create_subprocess_exec(sys.executable, "-c", script)

                def started(n: int = round_) -> bool:
                    return journal.exists() and journal.read_text().count("start ") >= n

                assert await wait_for(started, 60), "the server never started"
                console.kill()  # mid-handshake: the server is up, initialize unanswered
                await console.wait()
                seen.extend(p for pids in marked_processes(tag).values() for p in pids)
            async with opened(tmp_path / "data", tag, restore=False) as host:
                assert host.reaped, "nothing was reaped: the last process had no record"
                assert marked_processes(tag) == {}, marked_processes(tag)
        finally:
            for pid in set(seen):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await wait_for(lambda: not any(pid_alive(p) for p in set(seen)), 5)
            reap(sorted(set(seen)))
