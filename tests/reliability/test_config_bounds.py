"""Huge numbers and oversized values are refused at save time, naming the field.

Before: ``10**400`` for a number field raised OverflowError (from
``validate_user_config`` too), and a 10 MB value saved, after which every start
failed with "Argument list too long" naming no field. The bound
(core.userconfig.MAX_VALUE_BYTES) must also be one a real process accepts:
a value at the bound starts the bundle and reaches its environment whole.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.userconfig import MAX_VALUE_BYTES
from tests.procs import marked_processes, proc_env
from tests.reliability.support import opened, write_bundle, ws_name

FIELDS = {
    "big": {"type": "string", "title": "Big value", "required": True},
    "count": {"type": "number", "title": "Count"},
}
ENV = {"BIG": "${user_config.big}", "COUNT": "${user_config.count}"}


async def test_oversized_and_huge_values_are_refused_and_the_bound_starts(
    tmp_path: Path, tag: str
) -> None:
    async with opened(tmp_path / "data", tag) as host:
        ws = host.create_workspace(ws_name(tag)).id
        src = write_bundle(tmp_path / "src", user_config=FIELDS, env=ENV)
        await host.install_bundle(ws, src, server_name="svc")
        creds = host.paths.credentials_file(ws, "svc")

        for values, message in (
            ({"big": "v" * (10 * 1024 * 1024)}, '"Big value" is longer than 32 KiB.'),
            ({"big": "v", "count": 10**400}, '"Count" must be a finite number.'),
        ):
            assert host.validate_user_config(ws, "svc", values) == [message]
            with pytest.raises(ConfigError) as info:
                await host.set_user_config(ws, "svc", values)
            assert str(info.value) == message
            assert not creds.exists()

        at_bound = "b" * MAX_VALUE_BYTES
        result = await host.set_user_config(ws, "svc", {"big": at_bound, "count": 10**300})
        assert result.populated == {"big": True, "count": True}
        started = await host.lifecycle.start_bundle("svc", ws)
        assert started.ok, started.error
        (pid,) = marked_processes(tag)[f"{ws}/svc"]
        env = proc_env(pid)
        assert env["BIG"] == at_bound and env["COUNT"] == str(10**300)
