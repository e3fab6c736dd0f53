"""Prompts and Resources tabs: what the running demo-notes serves, read and got for real
through the gateway's console requests, texts redacted, binaries as size and type."""

from __future__ import annotations

from typing import Any

from tests.gui.conftest import server_named, wait_badge, wait_until


def tab_shown(window: Any, view: Any) -> bool:
    tabs = window.detail.tabs
    return bool(tabs.isTabVisible(tabs.indexOf(view)))


async def test_prompts_and_resources_of_the_running_bundle(launch: Any) -> None:
    async with launch() as console:
        window, host = console.window, console.host
        ws = window.current_ws_id
        notes = server_named(host, ws, "notes")
        clock = server_named(host, ws, "clock")
        vault = server_named(host, ws, "vault")
        await wait_badge(window, notes, "running")
        # A stored secret: whatever a bundle sends back, the console masks it.
        token = "resource-secret-9Zq"
        await host.set_user_config(ws, vault, {"api_token": token})
        await host.lifecycle.call_tool(
            notes,
            ws,
            "write_note",
            {"name": "runbook.md", "text": f"alpha: rotate {token}", "overwrite": True},
        )
        offered = window.detail.offered
        prompts, resources = offered.prompts, offered.resources

        async def select(server: str) -> None:
            done = offered.fetches_done
            assert window.select_bundle(server)
            await wait_until(lambda: offered.fetches_done > done, what=f"{server} listed")

        await select(notes)
        assert tab_shown(window, prompts) and tab_shown(window, resources)
        # A bundle without prompts or resources shows neither tab.
        await select(clock)
        assert not tab_shown(window, prompts) and not tab_shown(window, resources)
        await select(notes)
        window.detail.tabs.setCurrentWidget(resources)
        assert resources.uris() == ["notes://index", "notes://icon.png", "notes://note/{name}"]

        async def read(uri_or_pick: str, *, pick: bool = True) -> None:
            if pick:
                assert resources.select(uri_or_pick)
            else:
                resources.uri.setText(uri_or_pick)
            n = resources.reads_done
            assert resources.read_button.isEnabled(), resources.read_button.toolTip()
            resources.read_button.click()
            await wait_until(lambda: resources.reads_done > n, what=f"read {uri_or_pick}")

        await read("notes://index")
        assert "- runbook.md (root 0" in resources.text.toPlainText()
        assert "text/markdown" in resources.status.text()

        # A template: Read waits until its {name} part is filled in.
        assert resources.select("notes://note/{name}")
        assert not resources.read_button.isEnabled()
        await read("notes://note/runbook.md", pick=False)
        shown = resources.text.toPlainText()
        assert shown.startswith("alpha: rotate ") and token not in shown
        assert resources.last_parts[0].mime_type == "text/plain"

        # A binary: its size and MIME type, previewed because it is an image.
        await read("notes://icon.png")
        (part,) = resources.last_parts
        assert part.text is None and part.mime_type == "image/png"
        assert f"binary, {part.size} bytes, image/png" in resources.status.text()
        assert part.data.startswith(b"\x89PNG") and not resources.preview.pixmap().isNull()

        # A resource the bundle refuses: its own reason, in the view.
        await read("notes://note/missing.md", pick=False)
        assert "no note named 'missing.md'" in (resources.last_error or "")
        assert "missing.md" in resources.status.text()

        # Prompts: arguments in the schema form, required ones enforced.
        window.detail.tabs.setCurrentWidget(prompts)
        assert prompts.prompt_names() == ["summarize_note"]
        assert prompts.select("summarize_note")
        form = prompts.form
        assert form is not None and set(form.editors) == {"name", "style"}
        assert form.editors["name"].required and not form.editors["style"].required
        assert not prompts.get_button.isEnabled()
        form.editors["name"].edit.setText("runbook.md")
        form.editors["style"].edit.setText("paragraph")
        assert prompts.get_button.isEnabled()
        n = prompts.gets_done
        prompts.get_button.click()
        await wait_until(lambda: prompts.gets_done > n, what="the prompt")
        assert prompts.last_error is None
        text = prompts.messages.toPlainText()
        assert "[user]" in text and "one short paragraph" in text and "alpha: rotate" in text
        assert token not in text

        # Stopped: the tabs stay (it offered them), their buttons are off and say why.
        await host.lifecycle.stop_bundle(notes, ws)
        await wait_badge(window, notes, "stopped")
        await wait_until(lambda: not prompts.get_button.isEnabled(), what="Get disabled")
        assert tab_shown(window, prompts) and tab_shown(window, resources)
        resources.uri.setText("notes://index")
        assert not resources.read_button.isEnabled()
        assert "Start the bundle" in resources.read_button.toolTip()
