"""The call record on disk: size-capped with one rotated copy, 0600, never arguments."""

from __future__ import annotations

import json
from pathlib import Path

from core.gateway.records import CallLog, CallRecord, read_records


def record(n: int) -> CallRecord:
    return CallRecord(
        at=float(n),
        workspace="ws_demo",
        workspace_name="Demo",
        client="c",
        client_version="1",
        bundle="demo-clock",
        tool="echo",
        duration_ms=1.5,
        outcome="ok",
    )


def test_the_record_rotates_at_its_cap_and_survives_removal(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "calls.jsonl"
    size = len(record(0).to_json()) + 1
    log = CallLog(path, max_bytes=size * 3)
    seen: list[float] = []
    log.subscribe(lambda r: seen.append(r.at))
    for n in range(5):
        log.add(record(n))
    # 3 fit, the 4th rotated them to calls.jsonl.1: both parts read back in order
    assert [r["at"] for r in read_records(path)] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert len(path.read_text().splitlines()) == 2
    assert path.stat().st_mode & 0o777 == 0o600
    assert seen == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert set(json.loads(path.read_text().splitlines()[0])) == {
        "at", "workspace", "workspace_name", "client", "client_version",
        "bundle", "tool", "duration_ms", "outcome",
    }  # fmt: skip

    path.unlink()  # removed while the console runs: the next record starts it again
    log.add(record(5))
    assert [r["at"] for r in read_records(path)][-1] == 5.0
    assert path.exists()
    log.close()
