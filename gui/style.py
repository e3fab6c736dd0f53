"""Application look: Fusion plus a small, palette-relative style sheet.

Colours in the sheet either come from ``palette(...)`` or are translucent
tints, so the same sheet reads well on light and dark palettes.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

STYLE_SHEET = """
QLabel#panelTitle, QLabel#workspaceTitle {
    font-weight: 600;
}
QLabel#panelTitle {
    color: palette(placeholder-text);
    text-transform: uppercase;
    letter-spacing: 1px;
    padding-left: 2px;
}
QLabel#workspaceTitle {
    font-size: 15pt;
}
QLabel#detailTitle {
    padding: 4px 2px 2px 2px;
}
QLabel#hint {
    color: palette(placeholder-text);
}
QLabel#emptyLabel, QLabel#loadingLabel {
    color: palette(placeholder-text);
    font-size: 11pt;
}
QLabel#dialogTitle {
    font-size: 14pt;
    font-weight: 600;
}
QLabel#problems {
    color: #d23b3b;
    background: rgba(210, 59, 59, 0.10);
    border: 1px solid rgba(210, 59, 59, 0.45);
    border-radius: 4px;
    padding: 6px 8px;
}
QLabel#secretState {
    color: palette(placeholder-text);
    min-width: 64px;
}
QLabel#secretState[secretSet="true"] {
    color: #2e9d4f;
    font-weight: 600;
}
QFrame#banner {
    border-radius: 4px;
    border: 1px solid rgba(127, 127, 127, 0.35);
}
QFrame#banner[kind="ok"] {
    background: rgba(46, 157, 79, 0.16);
    border-color: rgba(46, 157, 79, 0.6);
}
QFrame#banner[kind="info"] {
    background: rgba(47, 127, 216, 0.14);
    border-color: rgba(47, 127, 216, 0.55);
}
QFrame#banner[kind="busy"] {
    background: rgba(47, 127, 216, 0.10);
    border-color: rgba(47, 127, 216, 0.4);
}
QFrame#banner[kind="warn"] {
    background: rgba(200, 138, 18, 0.16);
    border-color: rgba(200, 138, 18, 0.6);
}
QFrame#banner[kind="error"] {
    background: rgba(210, 59, 59, 0.14);
    border-color: rgba(210, 59, 59, 0.6);
}
QLineEdit[invalid="true"], QAbstractSpinBox[invalid="true"], QListWidget[invalid="true"] {
    border: 1px solid #d23b3b;
    border-radius: 3px;
}
QListView#workspaceList {
    border: none;
    background: transparent;
}
QWidget#workspacePanel {
    background: palette(window);
}
QTableView#bundleTable {
    border: 1px solid palette(mid);
    border-radius: 3px;
    selection-background-color: rgba(47, 127, 216, 0.22);
    selection-color: palette(text);
}
QTableView#bundleTable::item {
    padding-left: 6px;
}
QHeaderView::section {
    padding: 5px 6px;
    border: none;
    border-bottom: 1px solid palette(mid);
    background: palette(window);
    font-weight: 600;
}
QToolBar#mainToolbar {
    spacing: 4px;
    padding: 3px 6px;
    border-bottom: 1px solid palette(mid);
}
QToolBar#mainToolbar QToolButton {
    padding: 3px 6px;
}
QStatusBar QLabel#totalsLabel {
    color: palette(placeholder-text);
    padding-right: 6px;
}
"""


def dark_palette() -> QPalette:
    """A neutral dark palette (used to check badge contrast; the system's wins at runtime)."""
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#25272b",
        QPalette.ColorRole.WindowText: "#e4e6ea",
        QPalette.ColorRole.Base: "#1c1d20",
        QPalette.ColorRole.AlternateBase: "#222428",
        QPalette.ColorRole.Text: "#e4e6ea",
        QPalette.ColorRole.Button: "#2d3035",
        QPalette.ColorRole.ButtonText: "#e4e6ea",
        QPalette.ColorRole.Highlight: "#2f6fbd",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2d3035",
        QPalette.ColorRole.ToolTipText: "#e4e6ea",
        QPalette.ColorRole.PlaceholderText: "#8b9099",
        QPalette.ColorRole.Mid: "#3c4046",
        QPalette.ColorRole.Light: "#3a3d42",
        QPalette.ColorRole.Dark: "#16171a",
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6b7078"))
    return p


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def apply_style(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = app.palette()
    if not is_dark(palette):
        # Fusion's default light palette is a little grey; lift the base a touch.
        palette.setColor(QPalette.ColorRole.Window, QColor("#f3f4f6"))
        palette.setColor(QPalette.ColorRole.AlternateBase, QColor("#f7f8fa"))
        palette.setColor(QPalette.ColorRole.Mid, QColor("#c9ced6"))
        app.setPalette(palette)
    font = app.font()
    if font.pointSizeF() < 9.5:
        font.setPointSizeF(9.5)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
