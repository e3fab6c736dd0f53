"""A form generated from a tool's ``inputSchema``, for "Try a tool".

Each property gets the editor its JSON-schema type calls for: a line edit
(string), a checked text field (number / integer, with min/max; never a spin
box, which would clamp a typed 5000 to the maximum without saying so), a check
box or a three-way choice (boolean, required or optional), a combo box
(enum), a one-item-per-line list (array of primitives) and a JSON editor for
objects and anything else. ``values()`` returns only what was filled in, and
``problems()`` names every field whose text cannot become a valid value, so
Run stays disabled until the call could succeed.

Text that comes from the bundle (names, descriptions, enum labels) is shown as
plain text: a hostile server must not render markup in the console.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

#: A value that was not filled in (distinct from "", 0, False and null).
MISSING: Any = object()

_SECRET_NAME = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|credential|auth|bearer|cookie|session|"
    r"api[_-]?key|private[_-]?key|access[_-]?key|signing[_-]?key|\bpin\b|otp|ssn)",
    re.IGNORECASE,
)
_SECRET_TEXT = re.compile(
    r"(password|passphrase|secret|token|credential|api key|private key|access key)",
    re.IGNORECASE,
)


def looks_sensitive(name: str, schema: dict[str, Any]) -> bool:
    """Whether a parameter's name, title or description suggests it carries a secret.

    Such values are never remembered between runs. ``format: password`` and
    ``writeOnly`` count too.
    """
    if schema.get("writeOnly") is True or schema.get("format") == "password":
        return True
    text = " ".join(str(schema.get(k) or "") for k in ("title", "description"))
    return bool(_SECRET_NAME.search(name) or _SECRET_TEXT.search(text))


def effective_type(schema: dict[str, Any]) -> str:
    """The one JSON type the editor is for; ``Optional[X]`` (anyOf X | null) is X."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind is None:
        options = [
            s for s in schema.get("anyOf") or schema.get("oneOf") or [] if isinstance(s, dict)
        ]
        options = [s for s in options if s.get("type") != "null"]
        if len(options) == 1:
            return effective_type(options[0])
    if kind is None and "enum" in schema:
        return "enum"
    return str(kind) if kind else "json"


def _non_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = [s for s in schema.get("anyOf") or schema.get("oneOf") or [] if isinstance(s, dict)]
    options = [s for s in options if s.get("type") != "null"]
    return options[0] if len(options) == 1 and "type" not in schema else schema


def parse_number(text: str, schema: dict[str, Any], integer: bool) -> float | int:
    """``text`` as the field's number, or ValueError saying what is wrong with it."""
    try:
        number: float | int = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"“{text}” is not {kind}") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"“{text}” is not a finite number")
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, int | float) and number < low:
        raise ValueError(f"{text} is below the minimum, {low}")
    if isinstance(high, int | float) and number > high:
        raise ValueError(f"{text} is above the maximum, {high}")
    xlow, xhigh = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
    if isinstance(xlow, int | float) and number <= xlow:
        raise ValueError(f"{text} must be greater than {xlow}")
    if isinstance(xhigh, int | float) and number >= xhigh:
        raise ValueError(f"{text} must be less than {xhigh}")
    return number


def parse_item(text: str, schema: dict[str, Any]) -> Any:
    """One line of an array editor as the item type."""
    kind = effective_type(schema)
    if kind in ("number", "integer"):
        return parse_number(text, schema, kind == "integer")
    if kind == "boolean":
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise ValueError(f"“{text}” is not true or false")
    if "enum" in schema and text not in [str(v) for v in schema["enum"]]:
        raise ValueError(f"“{text}” is not one of {', '.join(map(str, schema['enum']))}")
    return text


def _primitive_items(schema: dict[str, Any]) -> bool:
    items = schema.get("items")
    return isinstance(items, dict) and effective_type(items) in (
        "string",
        "number",
        "integer",
        "boolean",
        "enum",
    )


class ParamEditor(QWidget):
    """Base editor: ``value()`` is the parsed value or MISSING; ``problem()`` the error."""

    changed = Signal()

    def __init__(self, name: str, schema: dict[str, Any], required: bool, parent: QWidget) -> None:
        super().__init__(parent)
        self.name = name
        self.schema = schema
        self.required = required
        self.sensitive = looks_sensitive(name, schema)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def problem(self) -> str | None:
        try:
            value = self.value()
        except ValueError as exc:
            return str(exc)
        if value is MISSING and self.required:
            return "required"
        return None

    def focus_widget(self) -> QWidget:
        return self


class TextParam(ParamEditor):
    """string, number and integer: a line edit whose text is checked on every edit."""

    def __init__(self, name: str, schema: dict[str, Any], required: bool, parent: QWidget) -> None:
        super().__init__(name, schema, required, parent)
        self.kind = effective_type(schema)
        self.edit = QLineEdit(self)
        self.edit.setObjectName(f"param_{name}")
        if self.sensitive:
            self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        hint = []
        if "default" in schema:
            hint.append(f"default {json.dumps(schema['default'])}")
        if "minimum" in schema or "maximum" in schema:
            hint.append(f"{schema.get('minimum', '…')} to {schema.get('maximum', '…')}")
        self.edit.setPlaceholderText(", ".join(hint))
        self.edit.textChanged.connect(self.changed)
        self._layout.addWidget(self.edit)

    def value(self) -> Any:
        text = self.edit.text()
        if self.kind in ("number", "integer"):
            text = text.strip()
            if not text:
                return MISSING
            return parse_number(text, self.schema, self.kind == "integer")
        return text if text else MISSING

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is MISSING or value is None else str(value))

    def focus_widget(self) -> QWidget:
        return self.edit


class BoolParam(ParamEditor):
    """A check box when required; optional ones can also be left out ("not set")."""

    def __init__(self, name: str, schema: dict[str, Any], required: bool, parent: QWidget) -> None:
        super().__init__(name, schema, required, parent)
        self.box = QCheckBox(self)
        self.box.setObjectName(f"param_{name}")
        self.box.setTristate(not required)
        if not required:
            self.box.setCheckState(Qt.CheckState.PartiallyChecked)
            self.box.setText("not set")
        self.box.stateChanged.connect(self._relabel)
        self._layout.addWidget(self.box)

    def _relabel(self, *_: Any) -> None:
        state = self.box.checkState()
        if self.box.isTristate():
            self.box.setText(
                {
                    Qt.CheckState.PartiallyChecked: "not set",
                    Qt.CheckState.Checked: "true",
                    Qt.CheckState.Unchecked: "false",
                }[state]
            )
        self.changed.emit()

    def value(self) -> Any:
        state = self.box.checkState()
        if state == Qt.CheckState.PartiallyChecked:
            return MISSING
        return state == Qt.CheckState.Checked

    def set_value(self, value: Any) -> None:
        if value is MISSING and self.box.isTristate():
            self.box.setCheckState(Qt.CheckState.PartiallyChecked)
        else:
            self.box.setChecked(bool(value) if value is not MISSING else False)

    def focus_widget(self) -> QWidget:
        return self.box


class EnumParam(ParamEditor):
    """A combo box of the allowed values; optional ones start on "(not set)"."""

    def __init__(self, name: str, schema: dict[str, Any], required: bool, parent: QWidget) -> None:
        super().__init__(name, schema, required, parent)
        self.options = list(schema.get("enum") or [])
        self.combo = QComboBox(self)
        self.combo.setObjectName(f"param_{name}")
        if not required:
            self.combo.addItem("(not set)")
        for option in self.options:
            self.combo.addItem(str(option))
        self.combo.currentIndexChanged.connect(self.changed)
        self._layout.addWidget(self.combo)

    def value(self) -> Any:
        index = self.combo.currentIndex() - (0 if self.required else 1)
        return self.options[index] if 0 <= index < len(self.options) else MISSING

    def set_value(self, value: Any) -> None:
        if value in self.options:
            self.combo.setCurrentIndex(self.options.index(value) + (0 if self.required else 1))

    def focus_widget(self) -> QWidget:
        return self.combo


class ListParam(ParamEditor):
    """An array of primitives: one item per line, each checked against the item type."""

    def __init__(self, name: str, schema: dict[str, Any], required: bool, parent: QWidget) -> None:
        super().__init__(name, schema, required, parent)
        self.items_schema = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        self.edit = QPlainTextEdit(self)
        self.edit.setObjectName(f"param_{name}")
        self.edit.setPlaceholderText(f"one {effective_type(self.items_schema)} per line")
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(self.edit.fontMetrics().lineSpacing() * 4 + 12)
        self.edit.textChanged.connect(self.changed)
        self._layout.addWidget(self.edit)

    def value(self) -> Any:
        lines = [line.strip() for line in self.edit.toPlainText().splitlines()]
        lines = [line for line in lines if line]
        if not lines:
            return MISSING
        items = []
        for number, line in enumerate(lines, 1):
            try:
                items.append(parse_item(line, self.items_schema))
            except ValueError as exc:
                raise ValueError(f"line {number}: {exc}") from None
        low, high = self.schema.get("minItems"), self.schema.get("maxItems")
        if isinstance(low, int) and len(items) < low:
            raise ValueError(f"needs at least {low} items")
        if isinstance(high, int) and len(items) > high:
            raise ValueError(f"takes at most {high} items")
        return items

    def set_value(self, value: Any) -> None:
        if isinstance(value, list):
            self.edit.setPlainText(
                "\n".join(json.dumps(v) if isinstance(v, bool) else str(v) for v in value)
            )

    def focus_widget(self) -> QWidget:
        return self.edit


class JsonParam(ParamEditor):
    """Objects and anything else: JSON text, parsed (and type-checked) on every edit."""

    _TYPES: ClassVar[dict[str, type | tuple[type, ...]]] = {
        "object": dict,
        "array": list,
        "string": str,
        "number": (int, float),
        "integer": int,
        "boolean": bool,
    }

    def __init__(self, name: str, schema: dict[str, Any], required: bool, parent: QWidget) -> None:
        super().__init__(name, schema, required, parent)
        self.kind = effective_type(schema)
        self.edit = QPlainTextEdit(self)
        self.edit.setObjectName(f"param_{name}")
        self.edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.edit.setPlaceholderText("{}" if self.kind == "object" else "JSON")
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(self.edit.fontMetrics().lineSpacing() * 5 + 12)
        self.edit.textChanged.connect(self.changed)
        self._layout.addWidget(self.edit)

    def value(self) -> Any:
        text = self.edit.toPlainText().strip()
        if not text:
            return MISSING
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
            ) from None
        expected = self._TYPES.get(self.kind)
        if expected is not None and (
            not isinstance(value, expected) or (self.kind != "boolean" and isinstance(value, bool))
        ):
            raise ValueError(f"must be a JSON {self.kind}")
        return value

    def set_value(self, value: Any) -> None:
        if value is not MISSING:
            self.edit.setPlainText(json.dumps(value, indent=2))

    def focus_widget(self) -> QWidget:
        return self.edit


def make_param_editor(name: str, schema: Any, required: bool, parent: QWidget) -> ParamEditor:
    schema = schema if isinstance(schema, dict) else {}
    flat = _non_null(schema)
    kind = effective_type(schema)
    if "enum" in flat and kind in ("string", "enum", "number", "integer"):
        return EnumParam(name, flat, required, parent)
    if kind in ("string", "number", "integer"):
        return TextParam(name, flat, required, parent)
    if kind == "boolean":
        return BoolParam(name, flat, required, parent)
    if kind == "array" and _primitive_items(flat):
        return ListParam(name, flat, required, parent)
    return JsonParam(name, flat, required, parent)


def resolve_refs(schema: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """Inline local ``#/$defs/X`` (and ``#/definitions/X``) references, a few levels deep.

    The SDK's servers describe model-typed parameters that way; without it an
    object parameter would look like "any JSON". Cycles stop at the depth bound.
    """
    if depth > 8 or not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return resolve_refs(merged, root, depth + 1)
    out = dict(schema)
    for key in ("anyOf", "oneOf"):
        if isinstance(out.get(key), list):
            out[key] = [resolve_refs(s, root, depth + 1) for s in out[key]]
    if isinstance(out.get("items"), dict):
        out["items"] = resolve_refs(out["items"], root, depth + 1)
    return out


class SchemaForm(QWidget):
    """All parameters of one tool; ``changed`` fires whenever a value or its validity may change."""

    changed = Signal()

    def __init__(self, schema: dict[str, Any] | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        schema = schema if isinstance(schema, dict) else {}
        properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        required = set(schema.get("required") or [])
        self.editors: dict[str, ParamEditor] = {}
        self.errors: dict[str, QLabel] = {}
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for name, prop in properties.items():
            prop = resolve_refs(prop, schema)
            editor = make_param_editor(str(name), prop, name in required, self)
            label = QLabel(f"{name}{' *' if name in required else ''}", self)
            label.setTextFormat(Qt.TextFormat.PlainText)
            description = str(prop.get("description") or "") if isinstance(prop, dict) else ""
            column = QWidget(self)
            box = QVBoxLayout(column)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(2)
            box.addWidget(editor)
            if description:
                hint = QLabel(description[:500], column)
                hint.setObjectName("hint")
                hint.setTextFormat(Qt.TextFormat.PlainText)
                hint.setWordWrap(True)
                box.addWidget(hint)
            error = QLabel(column)
            error.setObjectName("fieldError")
            error.setTextFormat(Qt.TextFormat.PlainText)
            error.hide()
            box.addWidget(error)
            form.addRow(label, column)
            editor.changed.connect(self._revalidate)
            self.editors[str(name)] = editor
            self.errors[str(name)] = error
        if not self.editors:
            empty = QLabel("This tool takes no arguments.", self)
            empty.setObjectName("hint")
            form.addRow(empty)
        self._touched: set[str] = set()
        for name, editor in self.editors.items():
            editor.changed.connect(lambda n=name: self._touched.add(n))

    def _revalidate(self) -> None:
        for name, editor in self.editors.items():
            problem = editor.problem()
            # "required" is only said once the field was touched; parse errors at once.
            show = problem if problem and (problem != "required" or name in self._touched) else ""
            self.errors[name].setText(show)
            self.errors[name].setVisible(bool(show))
        self.changed.emit()

    def problems(self) -> dict[str, str]:
        return {n: p for n, e in self.editors.items() if (p := e.problem())}

    def values(self) -> dict[str, Any]:
        """The arguments to send; raises ValueError if a field is invalid (check problems())."""
        out: dict[str, Any] = {}
        for name, editor in self.editors.items():
            value = editor.value()
            if value is not MISSING:
                out[name] = value
        return out

    def rememberable(self) -> dict[str, Any]:
        """values() without anything typed into a sensitive-looking field."""
        return {n: v for n, v in self.values().items() if not self.editors[n].sensitive}

    def fill(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            editor = self.editors.get(name)
            if editor is not None and not editor.sensitive:
                editor.set_value(value)
        self._revalidate()

    def first_editor(self) -> QWidget | None:
        return next(iter(self.editors.values())).focus_widget() if self.editors else None
