"""databay.redaction: the one rule both plugins use to keep secrets out of logs, reprs and errors."""

import subprocess
import sys

import pytest

from databay.redaction import MASK, is_secret_name, redact_text, redact_url, url_secrets


@pytest.mark.parametrize(
    "name",
    [
        "key",
        "KEY",
        "api_key",
        "apiKey",
        "apikey",
        "API-KEY",
        "x-api-key",
        "token",
        "access_token",
        "accessToken",
        "refresh_token",
        "id_token",
        "secret",
        "client_secret",
        "password",
        "db_password",
        "passwd",
        "auth",
        "Authorization",
        "auth_token",
        "signature",
        "X-Amz-Signature",
        "sig",
        "credential",
        "credentials",
        "session",
        "sessionid",
        "session_id",
        "apikeys",
        "tlsCertificateKeyFilePassword",
    ],
)
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["q", "page", "limit", "userId", "format", "id", "title", "design", "lang"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_userinfo_and_secret_parameters_are_masked():
    url = "https://alice:hunter2@example.com:8443/v1/items?api_key=K1&page=2&access_token=T1#sig=S1"
    assert (
        redact_url(url)
        == f"https://{MASK}@example.com:8443/v1/items?api_key={MASK}&page=2&access_token={MASK}#sig={MASK}"
    )


def test_a_url_without_secrets_is_unchanged():
    for url in ("http://127.0.0.1:8080/todo", "https://example.com/a?q=1&page=2", "http://[::1]:80/x?token="):
        assert redact_url(url) == url


def test_encoded_names_and_a_password_with_a_slash():
    assert redact_url("http://u:pa%2Fss@h/?api%5Fkey=x") == f"http://{MASK}@h/?api%5Fkey={MASK}"
    assert redact_url("http://u:pa/ss@h/p?token=t") == f"http://{MASK}@h/p?token={MASK}"  # 'pa' is no port
    assert {"u", "pa/ss"} <= url_secrets("http://u:pa/ss@h/")


def test_unparseable_url_is_masked_by_pattern():
    assert redact_url("http://alice:pw@[::1/x?token=abc&q=1") == f"http://{MASK}@[::1/x?token={MASK}&q=1"


def test_url_secrets_lists_the_values_raw_and_decoded():
    secrets = url_secrets("http://alice:p%40ss@h/?api_key=a%2Fb&q=1")
    assert {"alice", "p%40ss", "p@ss", "a%2Fb", "a/b"} <= secrets and "1" not in secrets


def test_redact_text_masks_urls_and_known_values():
    text = (
        "500, message='Internal', url=URL('http://alice:hunter2@h/p?api_key=K9K9K9&q=1') "
        "and later the value K9K9K9 again, encoded: p%40ssword"
    )
    redacted = redact_text(text, {"K9K9K9", "p@ssword"})
    assert (
        "hunter2" not in redacted and "alice" not in redacted and "K9K9K9" not in redacted and "p%40ss" not in redacted
    )
    assert f"url=URL('http://{MASK}@h/p?api_key={MASK}&q=1')" in redacted


def test_short_literals_are_left_to_the_url_rule():
    assert redact_text("a b c", {"a"}) == "a b c"


def test_core_module_uses_the_stdlib_only():
    code = "import sys, databay.redaction; print(sorted(m for m in ('aiohttp', 'yarl', 'pymongo') if m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )
