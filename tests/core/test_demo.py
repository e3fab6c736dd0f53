"""First-run seeding: a Demo workspace with the shipped bundles, only on an empty data dir."""

from __future__ import annotations

from pathlib import Path

from core import demo
from tests.core.data.bundle_factory import manifest, write_bundle
from tests.core.data.hosting import opened


async def test_seed_demo_installs_every_shipped_bundle(tmp_path: Path) -> None:
    async with opened(tmp_path / "data") as host:
        ws = await host.seed_demo()
        assert ws is not None and (ws.id, ws.name) == ("ws_demo", "Demo")
        names = [b.server_name for b in ws.bundles]
        assert names == [p.name for p in demo.demo_bundle_dirs()]
        assert {"demo-clock", "demo-notes", "demo-vault"} <= set(names)
        vault = host.lifecycle.get_instance("demo-vault", "ws_demo")
        assert vault is not None and vault.needs_setup is not None  # required sensitive token
        assert host.load_errors == []
        assert await host.seed_demo() is None  # never twice


async def test_no_seed_when_a_workspace_exists_even_unreadable(tmp_path: Path) -> None:
    broken = tmp_path / "data/workspaces/ws_mine"
    broken.mkdir(parents=True)
    (broken / "workspace.json").write_text("{")
    async with opened(tmp_path / "data") as host:
        assert await host.seed_demo() is None
        assert host.workspaces() == []


async def test_a_broken_demo_bundle_is_reported_and_skipped(tmp_path: Path) -> None:
    root = tmp_path / "bundles"
    write_bundle(root / "a-good", manifest(name="good"))
    write_bundle(root / "b-bad", manifest(name=None))
    (root / "not-a-bundle").mkdir()
    async with opened(tmp_path / "data") as host:
        ws = await demo.seed(host, root)
        assert ws is not None and [b.server_name for b in ws.bundles] == ["good"]
        [error] = host.load_errors
        assert "b-bad" in error and "name: Field required" in error
