"""ex02 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

TOKENS = '[token.strip().lower() for token in connection.split(",")]'

MISTAKES = [
    Mistake(
        "connection_substring",
        "Connection searched for the substring 'upgrade' instead of split into tokens",
        fails=("test_rejects_connection_without_upgrade",),
        edits=((TOKENS, "connection.lower()"),),
    ),
    Mistake(
        "connection_case_sensitive",
        "the Connection token compared case-sensitively",
        fails=("test_any_case_and_token_lists", "test_real_server_handshake"),
        edits=(("token.strip().lower() for", "token.strip() for"),),
    ),
    Mistake(
        "connection_split_on_comma_space",
        "Connection split on ', ' only",
        fails=("test_any_case_and_token_lists",),
        edits=((TOKENS, '[t.lower() for t in connection.split(", ")]'),),
    ),
    Mistake(
        "upgrade_substring",
        "Upgrade searched for the substring 'websocket'",
        fails=("test_rejects_missing_or_wrong_upgrade",),
        edits=(('upgrade.lower() != "websocket"', '"websocket" not in upgrade.lower()'),),
    ),
    Mistake(
        "upgrade_case_sensitive",
        "Upgrade compared case-sensitively",
        fails=("test_any_case_and_token_lists",),
        edits=(('upgrade.lower() != "websocket"', 'upgrade != "websocket"'),),
    ),
    Mistake(
        "accept_case_insensitive",
        "Sec-WebSocket-Accept compared case-insensitively (base64 is not)",
        fails=("test_rejects_missing_or_wrong_accept",),
        edits=(("if accept != expected:", "if (accept or '').lower() != expected.lower():"),),
    ),
    Mistake(
        "accept_prefix",
        "Sec-WebSocket-Accept checked as a prefix of the expected value",
        fails=("test_rejects_missing_or_wrong_accept",),
        edits=(("if accept != expected:", "if not accept or not expected.startswith(accept):"),),
    ),
    Mistake(
        "status_from_phrase",
        "the status recognised by its reason phrase instead of its number",
        fails=("test_any_case_and_token_lists",),
        edits=(('if status != "101":', 'if phrase != "Switching Protocols":'),),
    ),
    Mistake(
        "status_always_400",
        "every refusal carries status 400, even a 403 from the server",
        fails=("test_rejects_status_other_than_101",),
        edits=(('            int(status), f"expected', '            400, f"expected'),),
    ),
    Mistake(
        "accepts_what_was_not_offered",
        "an extension or subprotocol the client did not offer is accepted",
        fails=("test_rejects_extension_or_subprotocol_not_offered",),
        edits=(
            (
                '    for name in ("Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol"):',
                "    for name in ():",
            ),
        ),
    ),
    Mistake(
        "header_names_case_sensitive",
        "header names kept as sent, so 'upgrade:' is not 'Upgrade:'",
        fails=("test_any_case_and_token_lists", "test_real_server_handshake"),
        edits=(
            (
                "name, value = name.strip().lower(), value.strip()",
                "name, value = name.strip(), value.strip()",
            ),
        ),
    ),
    Mistake(
        "values_not_stripped",
        "header values kept with their surrounding spaces",
        fails=("test_any_case_and_token_lists", "test_real_server_handshake"),
        edits=(
            (
                "name, value = name.strip().lower(), value.strip()",
                "name, value = name.strip().lower(), value",
            ),
        ),
    ),
    Mistake(
        "fixed_key",
        "the same key in every request",
        fails=("test_fresh_random_key",),
        edits=(
            (
                'key = base64.b64encode(os.urandom(16)).decode("ascii")',
                'key = "dGhlIHNhbXBsZSBub25jZQ=="',
            ),
        ),
    ),
    Mistake(
        "short_key",
        "a key of 8 random bytes instead of 16",
        fails=("test_fresh_random_key",),
        edits=(("b64encode(os.urandom(16))", "b64encode(os.urandom(8))"),),
    ),
    Mistake(
        "origin_always",
        "an Origin header even when no origin is given",
        fails=("test_origin_only_when_given",),
        edits=(
            (
                "    if origin is not None:\n        lines.append",
                "    if True:\n        lines.append",
            ),
        ),
    ),
    Mistake(
        "version_8",
        "Sec-WebSocket-Version 8",
        fails=("test_request_passes_server_checks", "test_real_server_handshake"),
        edits=(('"Sec-WebSocket-Version: 13",', '"Sec-WebSocket-Version: 8",'),),
    ),
    Mistake(
        "http_1_0",
        "an HTTP/1.0 request line",
        fails=("test_request_passes_server_checks", "test_real_server_handshake"),
        edits=(('f"GET {path} HTTP/1.1",', 'f"GET {path} HTTP/1.0",'),),
    ),
    Mistake(
        "lf_line_ends",
        "lines ended by LF instead of CRLF",
        fails=("test_request_passes_server_checks", "test_real_server_handshake"),
        edits=(
            (
                'return ("\\r\\n".join(lines) + "\\r\\n\\r\\n")',
                'return ("\\n".join(lines) + "\\n\\n")',
            ),
        ),
    ),
    Mistake(
        "no_host",
        "no Host header in the request (websockets' server lets it pass; the RFC does not)",
        fails=("test_request_passes_server_checks",),
        edits=(('        f"Host: {host}",\n', ""),),
    ),
    Mistake(
        "no_upgrade_in_request",
        "no Upgrade header in the request",
        fails=("test_request_passes_server_checks", "test_real_server_handshake"),
        edits=(('        "Upgrade: websocket",\n', ""),),
    ),
    Mistake(
        "connection_keep_alive",
        "Connection: keep-alive in the request",
        fails=("test_request_passes_server_checks", "test_real_server_handshake"),
        edits=(('        "Connection: Upgrade",\n', '        "Connection: keep-alive",\n'),),
    ),
    Mistake(
        "post",
        "a POST request",
        fails=("test_request_passes_server_checks", "test_real_server_handshake"),
        edits=(('f"GET {path} HTTP/1.1",', 'f"POST {path} HTTP/1.1",'),),
    ),
    Mistake(
        "key_not_returned",
        "the fresh key sent but not the one returned",
        fails=("test_fresh_random_key", "test_real_server_handshake"),
        edits=(
            (
                '    return ("\\r\\n".join(lines)',
                '    key = key[::-1]\n    return ("\\r\\n".join(lines)',
            ),
        ),
    ),
]
