"""ex01 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "hex_digest",
        "base64 of the hex digest (40 characters) instead of the 20 raw bytes",
        fails=("test_rfc_example", "test_agrees_with_websockets", "test_returns_text"),
        edits=(('.encode("ascii")).digest()', '.encode("ascii")).hexdigest().encode()'),),
    ),
    Mistake(
        "strips_key",
        "the key stripped of spaces before hashing",
        fails=("test_key_used_as_received",),
        edits=(("(key + GUID)", "(key.strip() + GUID)"),),
    ),
    Mistake(
        "decodes_key",
        "the key's base64 decoded before hashing",
        fails=("test_rfc_example", "test_agrees_with_websockets"),
        edits=(('(key + GUID).encode("ascii")', "base64.b64decode(key) + GUID.encode()"),),
    ),
    Mistake(
        "returns_bytes",
        "bytes returned instead of str",
        fails=("test_rfc_example", "test_returns_text"),
        edits=(
            (
                'return base64.b64encode(digest).decode("ascii")',
                "return base64.b64encode(digest)",
            ),
        ),
    ),
    Mistake(
        "guid_lower_case",
        "the GUID in lower case",
        fails=("test_rfc_example", "test_agrees_with_websockets"),
        edits=(("(key + GUID)", "(key + GUID.lower())"),),
    ),
]
