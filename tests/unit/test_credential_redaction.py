"""redact: the runner's boundary against a processor that prints its decrypted key."""

from __future__ import annotations

import base64
import urllib.parse

from shared.domain.credentials import REDACTED, redact, secret_forms


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


SECRET = "sk-~~~???/admin+key=a b"  # base64 has + and /, padding; URL forms differ


def _encoded(secret: str) -> dict[str, str]:
    raw = secret.encode()
    return {
        "base64": base64.b64encode(raw).decode(),
        "base64 unpadded": base64.b64encode(raw).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
        "base64url unpadded": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "quote": urllib.parse.quote(secret),
        "quote safe=''": urllib.parse.quote(secret, safe=""),
        "quote_plus": urllib.parse.quote_plus(secret),
    }


def test_base64_and_url_encoded_forms_are_redacted_whole() -> None:
    forms = _encoded(SECRET)
    assert len(set(forms.values())) == len(forms)  # the secret exercises every form
    for name, form in forms.items():
        line = f"Authorization: Basic {form} (sent)"
        assert redact(line, [SECRET]) == "Authorization: Basic *** (sent)", name
    metrics = {"url": f"https://x.test/?k={forms['quote_plus']}", "b64": [forms["base64url"]]}
    assert redact(metrics, [SECRET]) == {"url": "https://x.test/?k=***", "b64": [REDACTED]}


def test_every_form_of_every_secret_in_one_line() -> None:
    other = "another-secret-value-42"
    line = " ".join([SECRET, *_encoded(SECRET).values(), other, *_encoded(other).values()])
    assert redact(line, [SECRET, other]) == " ".join([REDACTED] * 16)


def test_a_secret_inside_another_is_redacted_with_the_longer_one() -> None:
    short, long = "sk-abcdefgh", "sk-abcdefgh-and-more"
    text = f"{long} {base64.b64encode(long.encode()).decode()} {short}"
    assert redact(text, [short, long]) == "*** *** ***"


def test_short_secrets_redact_only_their_raw_form() -> None:
    """The encodings of a 7-character string are short enough to occur by chance."""
    short = "abc/123"
    encoded = base64.b64encode(short.encode()).decode()
    text = f"{short} {encoded} {urllib.parse.quote(short, safe='')}"
    assert redact(text, [short]) == f"*** {encoded} abc%2F123"
    assert secret_forms(short) == [short]
    assert secret_forms("") == []
    assert len(secret_forms("abcd/123")) > 1  # 8 characters: encoded forms too


def test_a_plain_alphanumeric_secret_has_no_duplicate_forms() -> None:
    secret = "abcdefgh12345678"  # quote() leaves it as is; base64 needs no padding
    forms = secret_forms(secret)
    assert len(forms) == len(set(forms)) == 3
    assert forms == sorted(forms, key=len, reverse=True)
