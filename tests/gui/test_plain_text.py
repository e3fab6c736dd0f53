"""Every text from a bundle is shown as typed: no rich text, no huge forms.

Qt renders a label (AutoText) or tooltip that looks like HTML as rich text: a
manifest title spoofed a green "running · protected" badge and an ``<img>``
grew the window to 4444×4339. Here a bundle whose display name, field title
and descriptions are HTML is installed into the real app, and what the user
*sees* (each label's or tooltip's text as Qt renders it) must hold the literal
markup. A manifest with thousands of settings gets a message, not a form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import (
    Qt,  # the QtGui one carries mightBeRichText
    QTextDocument,
)
from PySide6.QtWidgets import QLabel

from gui.bundle_model import Column
from gui.configure_dialog import MAX_FORM_FIELDS, too_many_fields_message
from tests.core.data.bundle_factory import manifest, write_bundle
from tests.gui.conftest import wait_until

HTML = "<b style='color:green'>running · protected</b><img src='x.png' width=4444 height=4339>"


def shown(text: str, rich: bool) -> str:
    """What Qt draws for ``text``: rendered HTML when it takes it as rich text."""
    if not rich:
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText()


def label_shows(label: QLabel) -> str:
    fmt = label.textFormat()
    rich = fmt == Qt.TextFormat.RichText or (
        fmt == Qt.TextFormat.AutoText and Qt.mightBeRichText(label.text())
    )
    return shown(label.text(), rich)


def tip_shows(tip: str | None) -> str:
    return shown(tip or "", Qt.mightBeRichText(tip or ""))


async def install(console: Any, tmp: Path, name: str, data: dict[str, Any]) -> str:
    host = console.host
    ws_id = console.window.current_ws_id
    inst = await host.install_bundle(ws_id, write_bundle(tmp / name, data), server_name=name)
    await wait_until(lambda: console.window.select_bundle(name), what=f"{name} in the table")
    return inst.server_name


async def test_bundle_html_is_shown_literally(launch: Any, tmp_path: Path) -> None:
    fields = {"token": {"type": "string", "title": HTML, "description": HTML, "required": True}}
    data = manifest(display_name=HTML, description=HTML, user_config=fields)
    async with launch() as console:
        window = console.window
        name = await install(console, tmp_path, "htmlish", data)
        title = window.detail.title
        assert "<img src='x.png'" in label_shows(title)
        model = window.bundles
        tips = [
            model.index(r, Column.NAME).data(Qt.ItemDataRole.ToolTipRole)
            for r in range(model.rowCount())
        ]
        assert any("<img src='x.png'" in tip_shows(t) for t in tips), tips
        window.bundle_actions.configure.trigger()
        dialog = window.configure_dialog
        assert dialog is not None and dialog.isVisible()
        seen = [label_shows(lbl) for lbl in dialog.findChildren(QLabel)]
        # the title, the description, the field's label and its help text
        assert sum("<img src='x.png'" in text for text in seen) >= 4, seen
        assert dialog.width() < 2000 and dialog.height() < 2000
        dialog.reject()
        assert window.width() < 2000 and window.height() < 2000
        assert name == "htmlish"


async def test_a_form_with_thousands_of_fields_is_not_built(launch: Any, tmp_path: Path) -> None:
    count = 6000
    fields = {f"f{i}": {"type": "string", "title": f"Field {i}"} for i in range(count)}
    async with launch() as console:
        window = console.window
        await install(console, tmp_path, "huge-form", manifest(user_config=fields))
        window.bundle_actions.configure.trigger()
        dialog = window.configure_dialog
        assert dialog is not None and dialog.isVisible()
        texts = [lbl.text() for lbl in dialog.findChildren(QLabel)]
        assert too_many_fields_message(count) in texts
        assert count > MAX_FORM_FIELDS and dialog.editors == {}
        assert not dialog.save_button.isEnabled()
        dialog.reject()
