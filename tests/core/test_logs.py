"""Bundle logs: size cap, rotation, and a tail that survives a rotation."""

from __future__ import annotations

from core.logs import BundleLog, read_tail


def test_tail_just_after_rotation_reads_into_the_backup(tmp_path):
    path = tmp_path / "b.log"
    log = BundleLog(path, max_bytes=1000)
    for i in range(30):
        log.feed(f"line {i:02d} " + "y" * 80 + "\n")
    log.close()
    current = path.read_text().splitlines()
    assert 0 < len(current) < 10  # the rotation just happened
    tail = read_tail(path, 10)
    assert [t.split()[3] for t in tail] == [f"{i:02d}" for i in range(20, 30)]


def test_total_on_disk_stays_under_the_cap(tmp_path):
    path = tmp_path / "b.log"
    log = BundleLog(path, max_bytes=4096, backups=2)
    for _ in range(2000):
        log.feed("z" * 76 + "\n")  # 101 bytes on disk with the 24-character timestamp
    log.close()
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total <= 3 * 4096
    assert not path.with_name("b.log.3").exists()
    assert len(read_tail(path, 100)) == 100


def test_tail_stops_at_a_cut_file_rather_than_leave_a_gap(tmp_path):
    path = tmp_path / "b.log"
    path.with_name("b.log.1").write_text("old\n")
    path.write_text("".join(f"{i} " + "w" * 1000 + "\n" for i in range(200)))
    tail = read_tail(path, 500)
    assert "old" not in tail
    assert tail[-1].startswith("199 ")
    numbers = [int(t.split()[0]) for t in tail]
    assert numbers == list(range(numbers[0], 200))


def test_tail_is_redacted_for_display(tmp_path):
    path = tmp_path / "b.log"
    path.write_text("token=hunter2-secret\n")
    assert "hunter2-secret" not in read_tail(path, 5, ["hunter2-secret"])[0]


def test_tail_of_a_missing_log_is_empty(tmp_path):
    assert read_tail(tmp_path / "none.log", 5) == []


def test_lines_on_disk_carry_their_time_the_tail_does_not(tmp_path):
    import re
    import time

    path = tmp_path / "b.log"
    log = BundleLog(path)
    before = time.time()
    log.feed("first\nsecond\n")
    log.note("spawned pid 7")
    log.close()
    lines = path.read_text().splitlines()
    stamp = r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.\d{3} "
    assert [re.sub(stamp, "", line) for line in lines] == [
        "first",
        "second",
        "[bundle-console] spawned pid 7",
    ]
    written = time.mktime(time.strptime(re.match(stamp, lines[0]).group(1), "%Y-%m-%d %H:%M:%S"))
    assert int(before) - 1 <= written <= time.time()
    assert list(log.tail) == ["first", "second"]
