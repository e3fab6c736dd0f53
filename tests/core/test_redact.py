"""core.redact: every shape of every value is masked, longest first."""

from __future__ import annotations

import json

from core.redact import MASK, MIN_SECRET_LEN, Redactor, redact


def test_longer_secret_containing_a_shorter_one_is_masked_whole():
    # Shortest first would leave "def" of the longer value visible.
    assert redact("x abcdef y abc", ["abc", "abcdef"]) == f"x {MASK} y {MASK}"
    assert redact("x abcdef y", ["abcdef", "abc"]) == f"x {MASK} y"


def test_short_values_are_not_masked():
    assert redact("a1 b", ["a1"]) == "a1 b"
    assert len("a1") < MIN_SECRET_LEN


def test_python_repr_of_a_windows_path_is_masked():
    secret = "C:\\Users\\svc\\key"
    traceback = f"FileNotFoundError: [Errno 2] No such file: {secret!r}"
    assert secret.replace("\\", "\\\\") in traceback  # the escaped shape is what leaks
    assert redact(traceback, [secret]) == f"FileNotFoundError: [Errno 2] No such file: '{MASK}'"


def test_json_escapes_of_quotes_backslashes_and_non_ascii_are_masked():
    secret = 'pa"ss\\wörd-✓'
    for text in (json.dumps({"v": secret}), json.dumps({"v": secret}, ensure_ascii=False)):
        assert redact(text, [secret]) == json.dumps({"v": MASK}, ensure_ascii=False)
    assert redact(ascii(secret), [secret]) == f"'{MASK}'"


def test_every_line_of_a_multi_line_value_is_masked():
    secret = "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----"
    log_lines = ["loaded key:", *secret.splitlines(), "done"]
    masked = [redact(line, [secret]) for line in log_lines]
    assert masked == ["loaded key:", MASK, MASK, MASK, "done"]
    assert redact(f"error: {secret!r}", [secret]) == f"error: '{MASK}'"


def test_redactor_keeps_earlier_values_and_masks_every_bundles_values():
    red = Redactor(["first-token"])
    red.add(["second-token"])  # a rotation: the previous value is still in old lines
    red.add(["other-bundle-secret"])
    assert red("old first-token, new second-token, other-bundle-secret") == (
        f"old {MASK}, new {MASK}, {MASK}"
    )
    assert len(red) == 3 and "first-token" in red


def test_redactor_masks_many_values_and_nested_json():
    values = [f"value-{i:03d}" for i in range(100)]
    red = Redactor(values)
    assert red(" ".join(values)) == " ".join([MASK] * 100)
    assert red.value({"a": ["value-099", {"value-050": 1}], "n": 3}) == {
        "a": [MASK, {MASK: 1}],
        "n": 3,
    }
    assert red.longest >= len("value-000")
