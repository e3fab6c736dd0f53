"""Try a tool: a form from the real inputSchema, a real call, the result shown as it came."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gui.schema_form import BoolParam, EnumParam, JsonParam, ListParam, TextParam
from tests.gui.conftest import server_named, wait_badge, wait_until


def select_tool(window: Any, server: str, tool: str) -> Any:
    assert window.select_bundle(server)
    tools = window.detail.tools
    window.detail.tabs.setCurrentWidget(tools)
    assert tools.select(tool), f"{tool} not in {tools.tool_names()}"
    assert tools.selected_tool().name == tool
    return tools


async def run(runner: Any) -> None:
    done = runner.calls_done
    assert runner.run_button.isEnabled(), runner.run_button.toolTip()
    runner.run_button.click()
    await wait_until(lambda: runner.calls_done > done, 30, "the call to finish")


async def test_try_the_vault_fingerprint_proves_the_token_just_saved(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        vault = server_named(host, ws, "vault")
        token = "try-a-tool-token-7Q"
        result = await host.set_user_config(ws, vault, {"api_token": token})
        assert result.outcome == "saved_stopped"
        await host.lifecycle.start_bundle(vault, ws)
        await wait_badge(window, vault, "running")
        await wait_until(lambda: window.detail.tools.tool_names(), what="the vault's tools")

        tools = select_tool(window, vault, "token_fingerprint")
        assert tools.try_button.isEnabled()
        tools.try_button.click()
        runner = window.detail.tool_runner
        assert runner is not None and runner.isVisible()
        assert runner.form.editors == {}  # the tool takes no arguments
        await run(runner)
        expected = hashlib.sha256(token.encode()).hexdigest()[:12]
        shown = "\n".join(p.text for p in runner.last_parts)
        assert expected in shown, shown
        assert runner.last_error is False and runner.banner.kind == "ok"
        assert token not in shown

        # Rotate: the same runner now proves the new token reached the new process.
        rotated = "rotated-token-8R"
        result = await host.set_user_config(ws, vault, {"api_token": rotated})
        assert result.outcome == "respawned"
        await run(runner)
        shown = "\n".join(p.text for p in runner.last_parts)
        assert hashlib.sha256(rotated.encode()).hexdigest()[:12] in shown
        runner.close()

        # A stopped bundle cannot be tried; the button says why.
        await host.lifecycle.stop_bundle(vault, ws)
        await wait_badge(window, vault, "stopped")
        await wait_until(lambda: not tools.try_button.isEnabled(), what="Try disabled")


async def test_the_form_follows_the_schema_validates_and_remembers(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        notes = server_named(host, ws, "notes")
        await wait_badge(window, notes, "running")
        assert window.select_bundle(notes)
        await wait_until(lambda: "find_notes" in window.detail.tools.tool_names(), what="tools")
        tools = select_tool(window, notes, "find_notes")
        tools.tryRequested.emit("find_notes")
        runner = window.detail.tool_runner
        editors = runner.form.editors
        assert isinstance(editors["words"], ListParam)  # array<string>
        assert isinstance(editors["match"], EnumParam)  # enum
        assert isinstance(editors["limit"], TextParam)  # integer
        assert isinstance(editors["where"], JsonParam) and editors["where"].kind == "object"

        # Required words missing: Run disabled.
        assert not runner.run_button.isEnabled()
        editors["words"].edit.setPlainText("alpha\nbeta")
        assert runner.run_button.isEnabled()
        editors["limit"].edit.setText("2.5")
        assert "whole number" in runner.form.problems()["limit"]
        editors["limit"].edit.setText("3")
        # The object editor checks JSON and its type.
        editors["where"].edit.setPlainText("{not json")
        assert "not valid JSON" in runner.form.problems()["where"]
        editors["where"].edit.setPlainText("[1]")
        assert "must be a JSON object" in runner.form.problems()["where"]
        editors["where"].edit.setPlainText('{"suffix": ".md"}')
        editors["match"].combo.setCurrentText("all")
        assert runner.form.problems() == {}
        assert runner.form.values() == {
            "words": ["alpha", "beta"],
            "match": "all",
            "limit": 3,
            "where": {"suffix": ".md"},
        }

        # Write a note with both words, then find it through the form.
        await host.lifecycle.call_tool(
            notes, ws, "write_note", {"name": "tried", "text": "alpha and beta", "overwrite": True}
        )
        await run(runner)
        assert runner.last_error is False
        structured = json.loads(runner.last_parts[-1].text)
        assert {"root": 0, "name": "tried.md"} in structured["notes"]
        runner.close()

        # Reopened, the form holds the last arguments.
        tools.tryRequested.emit("find_notes")
        again = window.detail.tool_runner
        assert again is not runner
        assert again.form.values() == {
            "words": ["alpha", "beta"],
            "match": "all",
            "limit": 3,
            "where": {"suffix": ".md"},
        }
        again.close()


def test_secret_looking_fields_are_masked_and_never_remembered(qtbot: Any) -> None:
    from core.models import ToolInfo
    from gui.tool_runner import ToolRunner

    remembered: list[dict[str, Any]] = []
    tool = ToolInfo(
        "login",
        "Log in",
        {
            "type": "object",
            "properties": {
                "user": {"type": "string"},
                "retries": {"type": "integer", "minimum": 0, "maximum": 5},
                "password": {"type": "string"},
                "note": {"type": "string", "description": "Your API key for the service"},
                "dry_run": {"type": "boolean"},
            },
            "required": ["user"],
        },
    )

    async def call(arguments: dict[str, Any]) -> Any:
        return {"content": [{"type": "text", "text": "ok"}]}

    runner = ToolRunner("Demo", tool, call, remember=remembered.append)
    qtbot.addWidget(runner)
    editors = runner.form.editors
    assert editors["password"].sensitive and editors["note"].sensitive
    assert not editors["user"].sensitive
    assert isinstance(editors["dry_run"], BoolParam) and editors["dry_run"].value() is not True
    editors["user"].edit.setText("ada")
    # Out of range is an error that disables Run, never a clamp.
    editors["retries"].edit.setText("5000")
    assert "above the maximum, 5" in runner.form.problems()["retries"]
    assert not runner.run_button.isEnabled()
    editors["retries"].edit.setText("-1")
    assert "below the minimum, 0" in runner.form.problems()["retries"]
    editors["retries"].edit.setText("")
    assert runner.run_button.isEnabled()
    editors["password"].edit.setText("hunter2")
    editors["note"].edit.setText("sk-live-123")
    editors["dry_run"].box.click()  # not set -> true
    assert runner.form.rememberable() == {"user": "ada", "dry_run": True}
    runner.form.fill({"user": "bob", "password": "leaked"})
    assert editors["password"].edit.text() == "hunter2"  # never filled from storage
