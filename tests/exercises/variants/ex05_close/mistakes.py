"""ex05 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

RANGES = "return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999"

MISTAKES = [
    Mistake(
        "allows_1015",
        "1015 (TLS failure, reported locally) accepted on the wire",
        fails=(
            "test_invalid_codes_refused_on_encode",
            "test_invalid_codes_rejected_on_parse_with_1002",
        ),
        edits=((RANGES, RANGES.replace("1014", "1015")),),
    ),
    Mistake(
        "allows_1004_to_1006",
        "1004-1006 accepted on the wire",
        fails=(
            "test_invalid_codes_refused_on_encode",
            "test_invalid_codes_rejected_on_parse_with_1002",
        ),
        edits=((RANGES, "return 1000 <= code <= 1014 or 3000 <= code <= 4999"),),
    ),
    Mistake(
        "refuses_application_codes",
        "4000-4999 refused",
        fails=("test_valid_codes_both_ways", "test_agrees_with_websockets"),
        edits=((RANGES, RANGES.replace("4999", "3999")),),
    ),
    Mistake(
        "reason_counted_in_characters",
        "the 123-byte limit counted in characters",
        fails=("test_payload_limit_125_bytes",),
        edits=(
            (
                "    if len(payload) > MAX_PAYLOAD:\n        raise ValueError",
                "    if 2 + len(reason) > MAX_PAYLOAD:\n        raise ValueError",
            ),
        ),
    ),
    Mistake(
        "utf8_replaced",
        "invalid UTF-8 in the reason replaced instead of refused",
        fails=("test_bad_utf8_reason_is_1007",),
        edits=(
            (
                'reason = payload[2:].decode("utf-8")',
                'reason = payload[2:].decode("utf-8", "replace")',
            ),
        ),
    ),
    Mistake(
        "utf8_error_is_1002",
        "invalid UTF-8 answered with 1002 instead of 1007",
        fails=("test_bad_utf8_reason_is_1007",),
        edits=(('{exc.reason}", 1007)', '{exc.reason}", 1002)'),),
    ),
    Mistake(
        "long_payload_parsed",
        "a payload over 125 bytes parsed",
        fails=("test_payload_limit_125_bytes",),
        edits=(
            (
                "    if len(payload) > MAX_PAYLOAD:\n        raise ProtocolError",
                "    if False:\n        raise ProtocolError",
            ),
        ),
    ),
    Mistake(
        "code_not_checked_on_parse",
        "any code accepted from the wire",
        fails=("test_invalid_codes_rejected_on_parse_with_1002",),
        edits=(
            (
                "    if not is_valid_close_code(code):\n        raise ProtocolError",
                "    if False:\n        raise ProtocolError",
            ),
        ),
    ),
    Mistake(
        "little_endian_code",
        "the code in little-endian order",
        fails=("test_valid_codes_both_ways", "test_agrees_with_websockets"),
        edits=(
            ('payload = code.to_bytes(2, "big")', 'payload = code.to_bytes(2, "little")'),
            (
                'code = int.from_bytes(payload[:2], "big")',
                'code = int.from_bytes(payload[:2], "little")',
            ),
        ),
    ),
    Mistake(
        "reason_without_code",
        "a reason without a code silently dropped",
        fails=("test_empty_payload_and_reason_without_code",),
        edits=(
            (
                "        if reason:\n            raise ValueError",
                "        if False:\n            raise ValueError",
            ),
        ),
    ),
]
