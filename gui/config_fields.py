"""One editor widget per ``user_config`` field type, generated from the manifest.

Every editor knows its initial value so it can tell whether the administrator
changed it: the dialog only sends changed keys, which is what lets a stored
sensitive value stay untouched (and unseen) unless it is replaced or cleared.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

#: Marker for "no value": distinct from "" and from False / 0.
UNSET: Any = None


def eye_icon(color: QColor, *, crossed: bool = False, size: int = 32) -> QIcon:
    """A drawn eye, so the reveal toggle needs no icon theme."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color, size / 14)
    p.setPen(pen)
    s = size
    path = QPainterPath()
    path.moveTo(s * 0.08, s * 0.5)
    path.quadTo(s * 0.5, s * 0.08, s * 0.92, s * 0.5)
    path.quadTo(s * 0.5, s * 0.92, s * 0.08, s * 0.5)
    p.drawPath(path)
    p.setBrush(color)
    p.drawEllipse(pm.rect().center(), int(s * 0.13), int(s * 0.13))
    if crossed:
        p.drawLine(int(s * 0.15), int(s * 0.85), int(s * 0.85), int(s * 0.15))
    p.end()
    return QIcon(pm)


def _is_integral(*values: Any) -> bool:
    return all(v is None or (isinstance(v, int | float) and float(v).is_integer()) for v in values)


class FieldEditor(QWidget):
    """Base: an editor for one key. ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, key: str, spec: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.key = key
        self.spec = spec
        self._initial: Any = UNSET

    # The dialog's view of an editor: the edited value, and whether to send it.
    def value(self) -> Any:
        raise NotImplementedError

    def is_dirty(self) -> bool:
        return self.value() != self._initial

    def is_empty(self) -> bool:
        """True when the field holds no value (what "required" checks)."""
        v = self.value()
        return v is None or v == "" or v == []

    def problem(self) -> str | None:
        """What is wrong with the text as typed (shown inline), or None."""
        return None

    def set_invalid(self, invalid: bool) -> None:
        """Mark the editor visually; the message itself is shown by the dialog."""
        self.setProperty("invalid", invalid)
        for child in self.findChildren(QWidget):
            child.setProperty("invalid", invalid)
            child.style().unpolish(child)
            child.style().polish(child)


class StringEditor(FieldEditor):
    """Line edit; sensitive fields are masked with a reveal toggle and never prefilled."""

    def __init__(
        self,
        key: str,
        spec: Any,
        current: Any = UNSET,
        *,
        stored: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(key, spec, parent)
        self.sensitive = bool(spec.sensitive)
        self.stored = stored and self.sensitive
        self._clearing = False
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(f"field_{key}")
        layout.addWidget(self.edit, 1)
        if isinstance(spec.default, str) and spec.default:
            self.edit.setPlaceholderText(spec.default)
        if self.sensitive:
            self.edit.setEchoMode(QLineEdit.EchoMode.Password)
            self.reveal = QToolButton(self)
            self.reveal.setCheckable(True)
            self.reveal.setToolTip("Show the value you are typing")
            self.reveal.setAccessibleName("Reveal")
            self.reveal.setIconSize(QSize(18, 18))
            self.reveal.toggled.connect(self._on_reveal)
            self._on_reveal(False)
            layout.addWidget(self.reveal)
            self.state_label = QLabel(self)
            self.state_label.setObjectName("secretState")
            layout.addWidget(self.state_label)
            self.clear_button = QPushButton("Clear", self)
            self.clear_button.setCheckable(True)
            self.clear_button.setToolTip("Remove the stored value when you save")
            self.clear_button.toggled.connect(self._on_clear)
            self.clear_button.setVisible(self.stored)
            layout.addWidget(self.clear_button)
            self._update_secret_state()
        else:
            self._initial = current if isinstance(current, str) and current else UNSET
            if isinstance(current, str):
                self.edit.setText(current)
        self.edit.textChanged.connect(self._on_text)

    def _on_reveal(self, shown: bool) -> None:
        mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        self.edit.setEchoMode(mode)
        color = self.palette().color(QPalette.ColorRole.ButtonText)
        self.reveal.setIcon(eye_icon(color, crossed=shown))
        self.reveal.setToolTip("Hide the value" if shown else "Show the value you are typing")

    def _on_clear(self, clearing: bool) -> None:
        self._clearing = clearing
        if clearing:
            self.edit.clear()
        self.edit.setEnabled(not clearing)
        self._update_secret_state()
        self.changed.emit()

    def _on_text(self, _text: str) -> None:
        if self.sensitive:
            self._update_secret_state()
        self.changed.emit()

    def _update_secret_state(self) -> None:
        if self._clearing:
            self.state_label.setText("will be cleared")
            self.edit.setPlaceholderText("")
        elif self.stored and not self.edit.text():
            self.state_label.setText("● set")
            self.edit.setPlaceholderText("Stored — type to replace")
        elif self.stored:
            self.state_label.setText("replacing")
        elif self.edit.text():
            self.state_label.setText("new value")
        else:
            self.state_label.setText("not set")
            self.edit.setPlaceholderText("")
        self.state_label.setProperty("secretSet", self.stored and not self._clearing)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)

    def value(self) -> Any:
        text = self.edit.text()
        return text if text else UNSET

    def is_dirty(self) -> bool:
        if self.sensitive:
            return self._clearing or bool(self.edit.text())
        return super().is_dirty()

    def is_empty(self) -> bool:
        if self.stored and not self._clearing:
            return False  # the stored value counts, even though we never see it
        return super().is_empty()

    @property
    def clearing(self) -> bool:
        return self._clearing


class NumberEditor(FieldEditor):
    """A number typed as text, checked against min/max, never clamped.

    A spin box silently rewrote what was typed (5000 with max 1000 became 500:
    its validator drops the keystroke that leaves the range). Here the text is
    kept as typed: an unparsable or out-of-range value is a :meth:`problem`
    (inline error, Save disabled), and a cleared field means "use the default".
    Up/Down step by one within the bounds.
    """

    def __init__(
        self, key: str, spec: Any, current: Any = UNSET, parent: QWidget | None = None
    ) -> None:
        super().__init__(key, spec, parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.integral = _is_integral(spec.min, spec.max, spec.default, current)
        edit = QLineEdit(self)
        edit.setObjectName(f"field_{key}")
        edit.setMinimumWidth(120)
        edit.setMaximumWidth(180)
        edit.installEventFilter(self)
        self.edit = edit
        if isinstance(spec.default, int | float) and not isinstance(spec.default, bool):
            edit.setPlaceholderText(f"default {_fmt(spec.default)}")
        else:
            edit.setPlaceholderText("not set")
        if isinstance(current, int | float) and not isinstance(current, bool):
            edit.setText(_fmt(current))
            self._initial = self.value()
        layout.addWidget(edit)
        bounds = []
        if spec.min is not None:
            bounds.append(f"min {spec.min:g}")
        if spec.max is not None:
            bounds.append(f"max {spec.max:g}")
        if bounds:
            hint = QLabel(", ".join(bounds), self)
            hint.setObjectName("hint")
            layout.addWidget(hint)
        layout.addStretch(1)
        edit.textChanged.connect(lambda _t: self.changed.emit())

    def _parse(self) -> tuple[Any, str | None]:
        text = self.edit.text().strip()
        if not text:
            return UNSET, None
        title = self.spec.title
        try:
            number = float(text)
        except ValueError:
            return UNSET, f'"{title}" must be a number (you typed "{text}").'
        if math.isnan(number) or math.isinf(number):
            return UNSET, f'"{title}" must be a finite number.'
        if self.integral and not number.is_integer():
            return UNSET, f'"{title}" must be a whole number (you typed "{text}").'
        lo, hi = self.spec.min, self.spec.max
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            if lo is not None and hi is not None:
                rng = f"between {lo:g} and {hi:g}"
            elif lo is not None:
                rng = f"at least {lo:g}"
            else:
                rng = f"at most {hi:g}"
            return UNSET, f'"{title}" must be {rng} (you typed {text}).'
        return (int(number) if self.integral else number), None

    def problem(self) -> str | None:
        return self._parse()[1]

    def value(self) -> Any:
        return self._parse()[0]

    def set_number(self, number: float) -> None:
        self.edit.setText(_fmt(number))

    def is_empty(self) -> bool:
        return not self.edit.text().strip() and self.spec.default is None

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if watched is self.edit and event.type() == QEvent.Type.KeyPress:
            step = {Qt.Key.Key_Up: 1, Qt.Key.Key_Down: -1}.get(event.key())
            if step is not None:
                number, problem = self._parse()
                if problem is None:
                    base = number if number is not UNSET else (self.spec.default or 0)
                    nxt = base + step
                    if self.spec.min is not None:
                        nxt = max(nxt, self.spec.min)
                    if self.spec.max is not None:
                        nxt = min(nxt, self.spec.max)
                    self.set_number(nxt)
                return True
        return super().eventFilter(watched, event)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


class BoolEditor(FieldEditor):
    def __init__(
        self, key: str, spec: Any, current: Any = UNSET, parent: QWidget | None = None
    ) -> None:
        super().__init__(key, spec, parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.check = QCheckBox("Enabled", self)
        self.check.setObjectName(f"field_{key}")
        start = current if isinstance(current, bool) else spec.default
        self.check.setChecked(bool(start))
        self._initial = self.value()
        layout.addWidget(self.check)
        layout.addStretch(1)
        self.check.toggled.connect(lambda _v: self.changed.emit())

    def value(self) -> Any:
        return self.check.isChecked()

    def is_empty(self) -> bool:
        return False


def _file_dialog(parent: QWidget, directory: bool, start: str) -> QFileDialog:
    """A non-blocking picker; callers connect ``fileSelected`` and call ``open()``."""
    dlg = QFileDialog(parent, "Choose folder" if directory else "Choose file", start)
    dlg.setFileMode(
        QFileDialog.FileMode.Directory if directory else QFileDialog.FileMode.ExistingFile
    )
    if directory:
        dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return dlg


class PathEditor(FieldEditor):
    """Path field with a Browse button (directory or file picker)."""

    def __init__(
        self, key: str, spec: Any, current: Any = UNSET, parent: QWidget | None = None
    ) -> None:
        super().__init__(key, spec, parent)
        self.directory = spec.type == "directory"
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(f"field_{key}")
        if isinstance(spec.default, str) and spec.default:
            self.edit.setPlaceholderText(spec.default)
        if isinstance(current, str):
            self.edit.setText(current)
            self._initial = current or UNSET
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        layout.addWidget(self.edit, 1)
        layout.addWidget(browse)
        self.edit.textChanged.connect(lambda _t: self.changed.emit())

    def _browse(self) -> None:
        dlg = _file_dialog(self, self.directory, self.edit.text())
        dlg.fileSelected.connect(self.edit.setText)
        dlg.open()

    def value(self) -> Any:
        return self.edit.text().strip() or UNSET


class ListEditor(FieldEditor):
    """Editor for ``multiple`` fields: an ordered list with Add / Remove."""

    def __init__(
        self, key: str, spec: Any, current: Any = UNSET, parent: QWidget | None = None
    ) -> None:
        super().__init__(key, spec, parent)
        self.paths = spec.type in ("directory", "file")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(self)
        self.list.setObjectName(f"field_{key}")
        self.list.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setMaximumHeight(96)
        start = current if isinstance(current, list) else []
        for item in start:
            self._append(str(item))
        self._initial = self.value()
        buttons = QVBoxLayout()
        add = QPushButton("Add…" if self.paths else "Add", self)
        self.remove = QPushButton("Remove", self)
        add.clicked.connect(self._add)
        self.remove.clicked.connect(self._remove)
        buttons.addWidget(add)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        model = self.list.model()
        model.rowsInserted.connect(lambda *_: self.changed.emit())
        model.rowsRemoved.connect(lambda *_: self.changed.emit())
        model.dataChanged.connect(lambda *_: self.changed.emit())
        model.rowsMoved.connect(lambda *_: self.changed.emit())
        self.list.currentRowChanged.connect(self._sync_buttons)
        self._sync_buttons()
        if not start and isinstance(spec.default, list) and spec.default:
            self.list.setToolTip("Default: " + ", ".join(spec.default))

    def _append(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text, self.list)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
        return item

    def _add(self) -> None:
        if self.paths:
            dlg = _file_dialog(self, self.spec.type == "directory", "")
            dlg.fileSelected.connect(lambda p: self._append(p))
            dlg.open()
        else:
            item = self._append("")
            self.list.setCurrentItem(item)
            self.list.editItem(item)

    def _remove(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
        self._sync_buttons()

    def _sync_buttons(self, *_: Any) -> None:
        self.remove.setEnabled(self.list.currentRow() >= 0)

    def add_value(self, text: str) -> None:
        """Append an entry (used by tests and by the Add picker)."""
        self._append(text)

    def value(self) -> Any:
        values = [self.list.item(i).text().strip() for i in range(self.list.count())]
        return [v for v in values if v]


class SecretListEditor(FieldEditor):
    """A sensitive ``multiple`` field: entries are counted and listed masked, never shown.

    The stored entries appear as "stored entry 1", "stored entry 2"...; the
    administrator can remove any of them and add new ones (typed masked, or
    picked for path lists). The value sent is a :class:`core.userconfig.ListEdit`
    (which stored entries to keep, what to add, how many were shown), applied by
    core to what is on disk: adding one entry never replaces the others.
    """

    STORED_ROLE = Qt.ItemDataRole.UserRole
    NEW_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(
        self, key: str, spec: Any, count: int | None = 0, parent: QWidget | None = None
    ) -> None:
        super().__init__(key, spec, parent)
        self.paths = spec.type in ("directory", "file")
        #: entries stored now; None when they are in a keyring that cannot be read
        self.count = count
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(4)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("secretState")
        outer.addWidget(self.state_label)
        row = QHBoxLayout()
        self.list = QListWidget(self)
        self.list.setObjectName(f"field_{key}")
        self.list.setMaximumHeight(96)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        for i in range(count or 0):
            item = QListWidgetItem(f"●●●●●●  stored entry {i + 1}", self.list)
            item.setData(self.STORED_ROLE, i)
        buttons = QVBoxLayout()
        self.remove = QPushButton("Remove", self)
        self.remove.clicked.connect(self._remove)
        buttons.addWidget(self.remove)
        buttons.addStretch(1)
        row.addWidget(self.list, 1)
        row.addLayout(buttons)
        outer.addLayout(row)
        add_row = QHBoxLayout()
        self.new_entry = QLineEdit(self)
        self.new_entry.setObjectName(f"field_{key}_new")
        self.new_entry.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_entry.setPlaceholderText("New entry (hidden as you type)")
        self.new_entry.installEventFilter(self)  # Enter adds the entry; it does not Save
        self.add_button = QPushButton("Add", self)
        self.add_button.clicked.connect(self._add_typed)
        add_row.addWidget(self.new_entry, 1)
        add_row.addWidget(self.add_button)
        if self.paths:
            browse = QPushButton("Add…", self)
            browse.setToolTip("Pick a path to add (it is not shown in the list)")
            browse.clicked.connect(self._browse)
            add_row.addWidget(browse)
        outer.addLayout(add_row)
        self.list.currentRowChanged.connect(lambda *_: self._sync())
        self.new_entry.textChanged.connect(lambda *_: self._sync())
        self._sync()

    def eventFilter(self, watched: Any, event: Any) -> bool:
        if (
            watched is self.new_entry
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and self.new_entry.text().strip()
        ):
            self._add_typed()
            return True
        return super().eventFilter(watched, event)

    def _add_typed(self) -> None:
        text = self.new_entry.text()
        if text.strip():
            self.add_value(text)
            self.new_entry.clear()

    def _browse(self) -> None:
        dlg = _file_dialog(self, self.spec.type == "directory", "")
        dlg.fileSelected.connect(self.add_value)
        dlg.open()

    def add_value(self, text: str) -> None:
        """Append a new entry; its text is kept in the item's data, never displayed."""
        item = QListWidgetItem("●●●●●●  new entry", self.list)
        item.setData(self.NEW_ROLE, text)
        self._sync()
        self.changed.emit()

    def _remove(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.list.takeItem(row)
            self._sync()
            self.changed.emit()

    def remove_row(self, row: int) -> None:
        self.list.setCurrentRow(row)
        self._remove()

    def _items(self) -> list[QListWidgetItem]:
        return [self.list.item(i) for i in range(self.list.count())]

    def kept(self) -> tuple[int, ...]:
        return tuple(
            i.data(self.STORED_ROLE) for i in self._items() if i.data(self.STORED_ROLE) is not None
        )

    def added(self) -> tuple[str, ...]:
        return tuple(
            i.data(self.NEW_ROLE) for i in self._items() if i.data(self.NEW_ROLE) is not None
        )

    def _sync(self) -> None:
        self.remove.setEnabled(self.list.currentRow() >= 0)
        self.add_button.setEnabled(bool(self.new_entry.text().strip()))
        if self.count is None:
            text = "● set (entries in the keyring; unreadable now)"
        else:
            text = f"{self.count} stored" if self.count else "none stored"
        removed = (self.count or 0) - len(self.kept())
        extra = []
        if added := len(self.added()):
            extra.append(f"{added} to add")
        if removed:
            extra.append(f"{removed} to remove")
        self.state_label.setText(text + (f" · {', '.join(extra)}" if extra else ""))
        self.state_label.setProperty("secretSet", bool(self.count) or self.count is None)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)

    def value(self) -> Any:
        from core.userconfig import ListEdit

        if self.count is None:  # entries unreadable: keep them all, add the new ones
            return ListEdit(None, self.added(), None)
        return ListEdit(self.kept(), self.added(), self.count)

    def is_dirty(self) -> bool:
        return bool(self.added()) or (self.count is not None and len(self.kept()) != self.count)

    def is_empty(self) -> bool:
        return self.count is not None and not self._items()


def make_editor(
    key: str,
    spec: Any,
    current: Any = UNSET,
    *,
    stored: bool = False,
    count: int | None = 0,
    parent: QWidget | None = None,
) -> FieldEditor:
    """Pick the editor for ``spec.type`` (``multiple`` wins over the base type)."""
    if spec.multiple and spec.sensitive:
        return SecretListEditor(key, spec, count, parent)
    if spec.multiple:
        return ListEditor(key, spec, current, parent)
    if spec.type == "number":
        return NumberEditor(key, spec, current, parent)
    if spec.type == "boolean":
        return BoolEditor(key, spec, current, parent)
    if spec.type in ("directory", "file"):
        return PathEditor(key, spec, current, parent)
    return StringEditor(key, spec, current, stored=stored, parent=parent)
