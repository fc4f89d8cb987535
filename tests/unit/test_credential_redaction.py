"""redact: the runner's boundary against a processor that prints its decrypted key."""

from __future__ import annotations

from shared.domain.credentials import REDACTED, redact


def test_strings_and_nested_metrics_lose_every_secret() -> None:
    secrets = ["sk-one", "sk-two"]
    assert redact("key sk-one and sk-two, sk-one again", secrets) == "key *** and ***, *** again"
    metrics = {"auth": "Bearer sk-two", "pages": [{"url": "x?k=sk-one"}, 3], "sk-one": True}
    assert redact(metrics, secrets) == {
        "auth": f"Bearer {REDACTED}",
        "pages": [{"url": f"x?k={REDACTED}"}, 3],
        REDACTED: True,
    }


def test_nothing_to_redact_leaves_the_value_alone() -> None:
    value = {"rows": 3, "note": "fine"}
    assert redact(value, []) is value
    assert redact("text", [""]) == "text"
    assert redact(None, ["sk"]) is None
