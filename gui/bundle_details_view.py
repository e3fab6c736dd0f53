"""The Details tab: what the manifest says about a bundle, and where this copy came from.

Renders :meth:`core.host.Host.bundle_details` plus the icon bytes of
:meth:`core.host.Host.bundle_icon`; it reads nothing itself. Links open only
for http(s) addresses; every text is escaped (a manifest is untrusted input).
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

ICON_SIZE = 48
#: ``(ws_id, server_name) -> (bundle_details dict, icon bytes or None)``
Fetch = Callable[[str, str], tuple[dict[str, Any], bytes | None]]


def pixmap_from(data: bytes | None, size: int) -> QPixmap | None:
    """A square pixmap of an icon file's bytes (None when it is not an image Qt reads)."""
    if not data:
        return None
    pixmap = QPixmap()
    if not pixmap.loadFromData(data) or pixmap.isNull():
        return None
    return pixmap.scaled(
        size,
        size,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def _link(url: str | None) -> str:
    if not url:
        return ""
    text = html.escape(url)
    if url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url, quote=True)}">{text}</a>'
    return text


def _author(author: dict[str, Any]) -> str:
    parts = [html.escape(author.get("name", ""))]
    if author.get("email"):
        parts.append(f"&lt;{html.escape(author['email'])}&gt;")
    if author.get("url"):
        parts.append(_link(author["url"]))
    return " ".join(p for p in parts if p)


def _compatibility(compat: dict[str, Any] | None) -> str:
    if not compat:
        return "Not stated (any platform)"
    parts = []
    if compat.get("platforms"):
        parts.append("Platforms: " + ", ".join(compat["platforms"]))
    for name, spec in (compat.get("runtimes") or {}).items():
        if spec:
            parts.append(f"{name} {spec}")
    for name, spec in compat.items():
        if name not in ("platforms", "runtimes") and isinstance(spec, str):
            parts.append(f"{name} {spec}")
    return html.escape(" · ".join(parts) or "Not stated (any platform)")


class BundleDetailsView(QScrollArea):
    """Shows one bundle's details; :meth:`show_key` re-reads them through ``fetch``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bundleDetails")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        #: set by the window once core is open
        self.fetch: Fetch | None = None
        body = QWidget(self)
        self.icon = QLabel(body)
        self.icon.setObjectName("detailsIcon")
        self.icon.setFixedSize(ICON_SIZE, ICON_SIZE)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.heading = QLabel(body)
        self.heading.setObjectName("detailsHeading")
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.heading, 1)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.rows: dict[str, QLabel] = {}
        for name in (
            "Author",
            "License",
            "Homepage",
            "Documentation",
            "Support",
            "Privacy policies",
            "Compatibility",
            "Install source",
            "Installed at",
            "Bundle folder",
            "Roll back",
            "Signature",
        ):
            value = QLabel(body)
            value.setTextFormat(Qt.TextFormat.RichText)
            value.setWordWrap(True)
            value.setOpenExternalLinks(True)
            value.setTextInteractionFlags(
                Qt.TextInteractionFlag.TextBrowserInteraction
                | Qt.TextInteractionFlag.TextSelectableByKeyboard
            )
            self.rows[name] = value
            self.form.addRow(name + ":", value)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addLayout(top)
        layout.addLayout(self.form)
        layout.addStretch(1)
        self.setWidget(body)
        self.show_key(None)

    def show_key(self, key: tuple[str, str] | None) -> None:
        """Re-read and render the bundle ``(ws_id, server_name)`` (None: nothing selected)."""
        details: dict[str, Any] | None = None
        icon: bytes | None = None
        error = ""
        if key is not None and self.fetch is not None:
            try:
                details, icon = self.fetch(*key)
            except Exception as exc:  # uninstalled meanwhile, or its manifest went bad
                error = str(exc)
        self.set_details(details, icon, error)

    def set_details(
        self, details: dict[str, Any] | None, icon: bytes | None = None, error: str = ""
    ) -> None:
        pixmap = pixmap_from(icon, ICON_SIZE) if details else None
        self.icon.setPixmap(pixmap if pixmap is not None else QPixmap())
        self.icon.setVisible(pixmap is not None)
        for label in self.rows.values():
            label.clear()
            label.setVisible(details is not None)
            self.form.labelForField(label).setVisible(details is not None)
        if details is None:
            self.heading.setText(
                html.escape(error) if error else "Select a bundle to see its details."
            )
            return
        heading = f"<b>{html.escape(details['display_name'])}</b> {html.escape(details['version'])}"
        if details.get("description"):
            heading += f"<br>{html.escape(details['description'])}"
        self.heading.setText(heading)
        none = "<i>Not stated</i>"
        rows = self.rows
        rows["Author"].setText(_author(details.get("author") or {}) or none)
        rows["License"].setText(html.escape(details.get("license") or "") or none)
        rows["Homepage"].setText(_link(details.get("homepage")) or none)
        rows["Documentation"].setText(_link(details.get("documentation")) or none)
        rows["Support"].setText(_link(details.get("support")) or none)
        policies = details.get("privacy_policies") or []
        rows["Privacy policies"].setText("<br>".join(_link(p) for p in policies) or none)
        rows["Compatibility"].setText(_compatibility(details.get("compatibility")))
        rows["Install source"].setText(html.escape(details.get("source") or "") or none)
        at = details.get("installed_at")
        rows["Installed at"].setText(
            datetime.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M") if at else none
        )
        rows["Bundle folder"].setText(html.escape(details.get("bundle_dir") or ""))
        previous = details.get("previous_version")
        rows["Roll back"].setText(
            f"to {html.escape(previous)} (kept until the next update)"
            if previous
            else "<i>No earlier version kept</i>"
        )
        rows["Signature"].setText(html.escape(details.get("signature") or "") or none)
