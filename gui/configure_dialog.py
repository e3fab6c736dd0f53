"""Configure: the form generated from a bundle's ``user_config``.

Save writes through ``host.set_user_config`` (which respawns the bundle) inside
an ``asyncSlot``; the outcome is shown in the dialog, which stays responsive
because it is opened with ``open()`` and nothing here runs a nested loop.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.launch import SETUP_HINT
from gui.config_fields import UNSET, FieldEditor, StringEditor, make_editor
from gui.save_test import SaveAndTest
from gui.spinner import Spinner
from gui.tasks import async_slot

log = logging.getLogger(__name__)

#: ConfigureResult.outcome -> (banner kind, message template)
OUTCOME_TEXT: dict[str, tuple[str, str]] = {
    "respawned": ("ok", "Saved and restarted"),
    "started": ("ok", "Saved and started"),
    "start_failed": ("error", "Saved, but start failed: {error}"),
    "failed": ("error", "Saved, but restart failed: {error}"),
    "protected": ("warn", "Saved; bundle is protected, restart refused"),
    "saved_stopped": ("info", "Saved (bundle is stopped)"),
    "needs_setup": ("warn", "Saved; still needs setup: {error}"),
}


def outcome_message(result: Any, start: Any = None) -> tuple[str, str]:
    """``(kind, text)`` for a ``ConfigureResult`` (and the optional start that followed
    a save of a stopped bundle, a ``RespawnResult``); kind drives the banner colour."""
    outcome = result.outcome
    error = (result.respawn.error if result.respawn else None) or "unknown error"
    if start is not None:
        outcome = (
            "started"
            if start.ok
            else ("needs_setup" if start.outcome == "needs_setup" else "start_failed")
        )
        error = start.error or "unknown error"
    kind, template = OUTCOME_TEXT.get(outcome, ("info", "Saved ({outcome})"))
    # Shown inside Configure itself: the "Open Configure… to set it." hint is noise here.
    error = error.replace(f" {SETUP_HINT}", "").strip()
    return kind, template.format(error=error, outcome=outcome)


#: Taller forms scroll inside the dialog.
MAX_FORM_HEIGHT = 520
#: Settings the form lays out at most; a manifest declaring more gets a message instead.
MAX_FORM_FIELDS = 200


def too_many_fields_message(count: int) -> str:
    return (
        f"This bundle declares {count} settings; the Configure window shows at most "
        f"{MAX_FORM_FIELDS}. Set them with the Python API (Host.set_user_config)."
    )


class Banner(QFrame):
    """A coloured one-line message with an optional spinner in front."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.spinner = Spinner(self)
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)  # outcomes quote bundle text
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.spinner)
        layout.addWidget(self.label, 1)
        self.hide()

    def show_message(self, kind: str, text: str, *, busy: bool = False) -> None:
        self.setProperty("kind", kind)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(text)
        if busy:
            self.spinner.start()
        else:
            self.spinner.stop()
        self.show()

    @property
    def kind(self) -> str:
        return str(self.property("kind") or "")

    @property
    def text(self) -> str:
        return self.label.text()


class ConfigureDialog(QDialog):
    """Edit one bundle's configuration in one workspace."""

    #: ``(ConfigureResult, message)`` after every completed save.
    saved = Signal(object, str)

    def __init__(self, host: Any, ws_id: str, server_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.host = host
        self.ws_id = ws_id
        self.server_name = server_name
        self.manifest = host.manifest(ws_id, server_name)
        self.editors: dict[str, FieldEditor] = {}
        self._row_labels: dict[str, QLabel] = {}
        self._saving = False
        self._problems: list[str] = []
        self.last_result: Any = None
        self.last_start: Any = None
        #: completed save attempts (accepted or refused), for observers and tests
        self.saves_done = 0
        self._close_after_save: int | None = None
        #: inline warnings (a save that would stop a running bundle); need a confirmation
        self._warnings: list[str] = []
        self._stop_confirmed = False
        #: the open "discard unsaved changes?" / "stop the bundle?" question, if any
        self.question: QMessageBox | None = None

        self.setObjectName("configureDialog")
        self.setWindowTitle(f"Configure {self.manifest.label}")
        self.setMinimumWidth(560)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 16, 18, 14)
        outer.setSpacing(10)
        outer.addWidget(self._header())

        self.form_host = QWidget(self)
        self.form = QFormLayout(self.form_host)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form.setHorizontalSpacing(14)
        self.form.setVerticalSpacing(12)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.form_host)
        self.scroll = scroll
        outer.addWidget(scroll, 1)

        self.problems_label = QLabel(self)
        self.problems_label.setTextFormat(Qt.TextFormat.PlainText)  # quotes field titles
        self.problems_label.setObjectName("problems")
        self.problems_label.setWordWrap(True)
        self.problems_label.hide()
        outer.addWidget(self.problems_label)

        self.warnings_label = QLabel(self)
        self.warnings_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warnings_label.setObjectName("warnings")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.hide()
        outer.addWidget(self.warnings_label)

        outer.addWidget(self._isolation_box())

        self.start_after = QCheckBox(f"Start {self.manifest.label} after saving", self)
        self.start_after.setObjectName("startAfter")
        self.start_after.setToolTip("The bundle is stopped: saving alone does not start it.")
        self.start_after.toggled.connect(self._update_save_text)
        self._stopped = False
        outer.addWidget(self.start_after)

        self.banner = Banner(self)
        outer.addWidget(self.banner)

        self.buttons = QDialogButtonBox(self)
        self.save_button = QPushButton("Save && Restart", self)
        self.save_button.setDefault(True)
        self.save_button.setObjectName("saveButton")
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self.save)
        outer.addWidget(self.buttons)

        self._build_form()
        self._sync_mode(initial=True)
        self.revalidate()
        self.save_test = SaveAndTest(self)  # gui.save_test: "Save & Test" and its check
        # A restart started elsewhere (Restart, the CLI, another save) is shown, and
        # followed until it ends: polled only while one is in progress.
        self._restart_timer = QTimer(self)
        self._restart_timer.setInterval(150)
        self._restart_timer.timeout.connect(self._follow_restart)
        self._watching_restart = False
        self._follow_restart()

    # -- construction ----------------------------------------------------------

    def _header(self) -> QWidget:
        box = QWidget(self)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(2)
        title = QLabel(
            f"{html.escape(self.manifest.label)}  <span style='font-weight:normal'>"
            f"{html.escape(self.manifest.version)}</span>",
            box,
        )
        title.setObjectName("dialogTitle")
        title.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(title)
        desc = QLabel(self.manifest.description, box)
        desc.setTextFormat(Qt.TextFormat.PlainText)
        desc.setObjectName("hint")
        desc.setWordWrap(True)
        layout.addWidget(desc)
        ws_name = next((w.name for w in self.host.workspaces() if w.id == self.ws_id), self.ws_id)
        note = QLabel(
            f"Settings apply to workspace <b>{html.escape(ws_name)}</b>. Saving restarts a running "
            "bundle so it picks them up. Stored secrets are never shown.",
            box,
        )
        note.setObjectName("hint")
        note.setWordWrap(True)
        layout.addWidget(note)
        return box

    def _isolation_box(self) -> QWidget:
        """Network switch and isolation toggle (core.sandbox), stored when changed.

        They apply at the next start or restart (Save restarts a running bundle).
        Turning isolation off asks first.
        """
        box = QWidget(self)
        row = QFormLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        network, isolated = self.host.sandbox_settings(self.ws_id, self.server_name)
        self.network_box = QComboBox(box)
        self.network_box.setObjectName("network")
        self.network_box.addItem("Allowed", "allowed")
        self.network_box.addItem("Blocked (no TCP or UDP, not even localhost)", "blocked")
        self.network_box.setCurrentIndex(self.network_box.findData(network))
        self.network_box.currentIndexChanged.connect(self._network_changed)
        row.addRow("Network", self.network_box)
        self.isolated_box = QCheckBox("Run isolated (own folder only)", box)
        self.isolated_box.setObjectName("isolated")
        self.isolated_box.setChecked(isolated)
        self.isolated_box.toggled.connect(self._isolation_toggled)
        row.addRow("Isolation", self.isolated_box)
        self.isolation_label = QLabel(box)
        self.isolation_label.setObjectName("hint")
        self.isolation_label.setWordWrap(True)
        self.isolation_label.setTextFormat(Qt.TextFormat.PlainText)
        row.addRow("", self.isolation_label)
        self._show_isolation()
        return box

    def _show_isolation(self) -> None:
        now = self.host.isolation(self.ws_id, self.server_name).summary()
        network, isolated = self.host.sandbox_settings(self.ws_id, self.server_name)
        wanted = f"network {network}" if isolated else "isolation off"
        self.isolation_label.setText(f"Now: {now}. Stored: {wanted}; applies at the next start.")

    def _network_changed(self, _index: int) -> None:
        network = self.network_box.currentData()
        self.host.set_sandbox(self.ws_id, self.server_name, network=network, via="gui")
        self._show_isolation()

    def _isolation_toggled(self, on: bool) -> None:
        if on:
            self.host.set_sandbox(self.ws_id, self.server_name, isolated=True, via="gui")
            self._show_isolation()
            return
        self.isolated_box.blockSignals(True)
        self.isolated_box.setChecked(True)  # until confirmed
        self.isolated_box.blockSignals(False)

        def confirmed() -> None:
            self.host.set_sandbox(self.ws_id, self.server_name, isolated=False, via="gui")
            self.isolated_box.blockSignals(True)
            self.isolated_box.setChecked(False)
            self.isolated_box.blockSignals(False)
            self._show_isolation()

        self._ask(
            "Turn isolation off?",
            f"{self.manifest.label} will be able to read every workspace's credentials, "
            "logs and bundle folders, and other processes' environments.",
            QMessageBox.StandardButton.Yes,
            confirmed,
        )

    def _build_form(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors.clear()
        self._row_labels.clear()
        fields = self.manifest.user_config
        if len(fields) > MAX_FORM_FIELDS:
            # 6,000 fields took 9 s and 320 MB to lay out: refuse to build such a form.
            too_many = QLabel(too_many_fields_message(len(fields)), self.form_host)
            too_many.setObjectName("hint")
            too_many.setWordWrap(True)
            too_many.setTextFormat(Qt.TextFormat.PlainText)
            self.form.addRow(too_many)
            return
        if not fields:
            empty = QLabel("This bundle has no settings.", self.form_host)
            empty.setObjectName("hint")
            self.form.addRow(empty)
            return
        status = self.host.config_status(self.ws_id, self.server_name)
        values = self.host.config_values(self.ws_id, self.server_name)
        counts = self.host.config_counts(self.ws_id, self.server_name)
        for key, spec in fields.items():
            editor = make_editor(
                key,
                spec,
                values.get(key, UNSET),
                stored=bool(status.get(key)),
                count=counts.get(key, 0),
                parent=self.form_host,
            )
            editor.changed.connect(self.revalidate)
            label = QLabel(self._label_text(spec), self.form_host)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setToolTip("Required" if spec.required else "Optional")
            label.setBuddy(editor)
            cell = QWidget(self.form_host)
            col = QVBoxLayout(cell)
            col.setContentsMargins(0, 0, 0, 0)
            col.setSpacing(3)
            col.addWidget(editor)
            if spec.description:
                help_text = QLabel(spec.description, cell)
                help_text.setTextFormat(Qt.TextFormat.PlainText)
                help_text.setObjectName("hint")
                help_text.setWordWrap(True)
                help_text.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
                col.addWidget(help_text)
            self.form.addRow(label, cell)
            self.editors[key] = editor
            self._row_labels[key] = label
        # Show the whole form when it fits on screen; scroll only beyond that.
        wanted = self.form_host.sizeHint().height() + 6
        self.scroll.setMinimumHeight(min(wanted, MAX_FORM_HEIGHT))

    def _instance(self) -> Any:
        return self.host.lifecycle.get_instance(self.server_name, self.ws_id)

    def _sync_mode(self, *, initial: bool = False) -> None:
        """A live bundle is restarted by Save; a stopped one is only started if asked."""
        inst = self._instance()
        stopped = inst is not None and str(inst.state) == "stopped"
        self._stopped = stopped
        self.start_after.setVisible(stopped)
        if initial:
            self.start_after.setChecked(stopped and bool(inst.needs_setup))
        self._update_save_text()

    def restart_in_progress(self) -> bool:
        """A respawn of this bundle is running or queued, or its process is starting."""
        inst = self._instance()
        if inst is None:
            return False
        return bool(self.host.lifecycle.draining(inst)) or str(inst.state) == "starting"

    def _follow_restart(self) -> None:
        if self._saving:  # our own save shows its own progress
            return
        busy = self.restart_in_progress()
        label = self.manifest.label
        if busy and not self._watching_restart:
            self._watching_restart = True
            self.banner.show_message(
                "busy",
                f"{label} is restarting. A save now applies to the new process.",
                busy=True,
            )
            self._restart_timer.start()
        elif not busy and self._watching_restart:
            self._watching_restart = False
            self._restart_timer.stop()
            inst = self._instance()
            state = str(inst.state) if inst is not None else "uninstalled"
            if state == "running":
                self.banner.show_message("ok", f"Restart finished: {label} is running.")
            else:
                error = (inst.last_error or "") if inst is not None else ""
                text = f"Restart finished: {label} is {state}" + (f": {error}" if error else ".")
                self.banner.show_message("error" if state in ("dead", "crashed") else "info", text)
            self._sync_mode()

    def _update_save_text(self, *_: Any) -> None:
        if not self._stopped:
            self.save_button.setText("Save && Restart")
        elif self.start_after.isChecked():
            self.save_button.setText("Save && Start")
        else:
            self.save_button.setText("Save")

    @staticmethod
    def _label_text(spec: Any) -> str:
        mark = " <span style='color:#d23b3b'>*</span>" if spec.required else ""
        return f"{html.escape(spec.title)}{mark}"

    # -- validation ------------------------------------------------------------

    def changes(self) -> dict[str, Any]:
        """The keys to write: edited values, and ``None`` for each value to remove
        (a cleared number means "use the default"). Unparsable text is never sent."""
        out: dict[str, Any] = {}
        for key, editor in self.editors.items():
            if editor.problem() is not None or not editor.is_dirty():
                continue
            if isinstance(editor, StringEditor) and editor.clearing:
                out[key] = None
            else:
                out[key] = editor.value()
        return out

    def problems(self) -> list[str]:
        """Local required checks first, then core's own rules for what would be saved."""
        found: list[str] = [p for e in self.editors.values() if (p := e.problem())]
        for key, editor in self.editors.items():
            spec = self.manifest.user_config[key]
            clearing = isinstance(editor, StringEditor) and editor.clearing
            if spec.required and editor.is_empty() and not clearing:
                found.append(f'"{spec.title}" is required.')
        try:
            found += [
                p
                for p in self.host.validate_user_config(
                    self.ws_id, self.server_name, self.changes()
                )
                if p not in found
            ]
        except Exception as exc:  # validation must never take the dialog down
            log.exception("validate_user_config failed")
            found.append(str(exc))
        return found

    def warnings(self) -> list[str]:
        """A save that clears a required value of a live bundle stops it: say so first."""
        inst = self._instance()
        if inst is None or str(inst.state) in ("stopped", "dead"):
            return []
        out = []
        for key, editor in self.editors.items():
            spec = self.manifest.user_config[key]
            if spec.required and isinstance(editor, StringEditor) and editor.clearing:
                out.append(f"Saving will stop {self.manifest.label}: {spec.title} is required.")
        return out

    def revalidate(self) -> None:
        self._problems = self.problems()
        self._warnings = self.warnings()
        if self._warnings:
            self.warnings_label.setText("\n".join(f"⚠ {w}" for w in self._warnings))
            self.warnings_label.show()
        else:
            self.warnings_label.hide()
        for key, editor in self.editors.items():
            title = self.manifest.user_config[key].title
            editor.set_invalid(any(title in p for p in self._problems))
        if self._problems:
            self.problems_label.setText("\n".join(f"• {p}" for p in self._problems))
            self.problems_label.show()
        else:
            self.problems_label.hide()
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        dirty = bool(self.changes())
        self.save_button.setEnabled(not self._saving and not self._problems and dirty)
        self.close_button.setEnabled(not self._saving)
        self.form_host.setEnabled(not self._saving)

    @property
    def saving(self) -> bool:
        return self._saving

    def showEvent(self, event: Any) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.focus_first_field)

    def focus_first_field(self) -> None:
        for editor in self.editors.values():
            for child in editor.findChildren(QWidget):
                if child.isEnabled() and child.focusPolicy() & Qt.FocusPolicy.TabFocus:
                    child.setFocus(Qt.FocusReason.OtherFocusReason)
                    return

    def keyPressEvent(self, event: Any) -> None:
        """While a save runs, Enter/Escape do nothing: focus may have moved to Close."""
        if self._saving and event.key() in (
            Qt.Key.Key_Return,
            Qt.Key.Key_Enter,
            Qt.Key.Key_Escape,
        ):
            event.accept()
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        """Close with typed, unsaved values asks first (Discard / Keep editing)."""
        if not self._saving and self.changes() and self.isVisible():
            self._ask(
                "Discard unsaved changes?",
                "You typed values that are not saved. Close and discard them?",
                QMessageBox.StandardButton.Discard,
                lambda: QDialog.reject(self),
            )
            return
        super().reject()

    def _ask(self, title: str, text: str, yes: Any, then: Any) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, title, text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setStandardButtons(yes | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def answered(button: int) -> None:
            self.question = None
            if button == yes:
                then()

        box.finished.connect(answered)
        self.question = box
        box.open()

    def done(self, result: int) -> None:
        """Closing while a save is in flight only hides the dialog: the save finishes
        (and reports through ``saved``) before the dialog is really closed."""
        if self._saving:
            self._close_after_save = result
            self.hide()
            return
        super().done(result)

    # -- saving ------------------------------------------------------------------

    @async_slot()
    async def save(self) -> None:
        """Write the changes and respawn; never blocks the loop, never nests one."""
        if self._saving:
            return
        self.revalidate()
        changes = self.changes()
        if self._problems or not changes:
            return
        if self._warnings and not self._stop_confirmed:

            def confirmed() -> None:
                self._stop_confirmed = True
                self.save()

            self._ask(
                f"Stop {self.manifest.label}?",
                "\n".join(self._warnings),
                QMessageBox.StandardButton.Save,
                confirmed,
            )
            return
        self._stop_confirmed = False
        self._watching_restart = False
        self._restart_timer.stop()
        self._saving = True
        self._sync_buttons()
        live = not self._stopped
        self.banner.show_message("busy", "Saving and restarting…" if live else "Saving…", busy=True)
        try:
            result = await self.host.set_user_config(
                self.ws_id, self.server_name, changes, via="gui"
            )
        except Exception as exc:
            problems = getattr(exc, "problems", None)
            text = "\n".join(problems) if problems else str(exc) or type(exc).__name__
            self.banner.show_message("error", f"Not saved: {text}")
            log.info("configure %s/%s rejected: %s", self.ws_id, self.server_name, text)
        else:
            start = None
            if result.outcome == "saved_stopped" and self.start_after.isChecked():
                self.banner.show_message("busy", "Saved; starting…", busy=True)
                start = await self.host.lifecycle.start_bundle(self.server_name, self.ws_id)
            self.last_result = result
            self.last_start = start
            kind, text = outcome_message(result, start)
            self.banner.show_message(kind, text)
            self._build_form()  # fresh baselines: stored secrets now say "set"
            self._sync_mode()
            self.saved.emit(result, text)
        finally:
            self._saving = False
            self.saves_done += 1
            self.revalidate()
            if self._close_after_save is not None:
                super().done(self._close_after_save)
