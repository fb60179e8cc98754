"""ex10 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "426_without_upgrade_header",
        "a 426 that does not say what to upgrade to",
        fails=("test_refuses_what_is_not_a_websocket_upgrade",),
        says="must carry the header 'upgrade: websocket'",
        edits=(
            (
                'raise HandshakeError(426, "this is a WebSocket server", '
                '(("Upgrade", "websocket"),))',
                'raise HandshakeError(426, "this is a WebSocket server")',
            ),
        ),
    ),
    Mistake(
        "any_close_code",
        "any close code is echoed, even 1005 or 999, which may never be sent (§7.4)",
        fails=("test_protocol_errors",),
        says="a CLOSE with code 999",
        edits=(("    if not (1000 <= code <= 1003", "    if False and not (1000 <= code <= 1003"),),
    ),
    Mistake(
        "connection_not_checked",
        "the Connection header is never looked at",
        fails=("test_refuses_a_malformed_request",),
        says="Connection must list the token Upgrade",
        edits=(('if "upgrade" not in tokens("connection"):', "if False:"),),
    ),
    Mistake(
        "connection_substring",
        "``Connection`` searched for the substring upgrade, not the token",
        fails=("test_refuses_a_malformed_request",),
        says="x-upgrade is another token",
        edits=(
            (
                'if "upgrade" not in tokens("connection"):',
                'if "upgrade" not in headers.get("connection", "").lower():',
            ),
        ),
    ),
    # The closing handshake is over once both CLOSE frames are sent: the server closes the TCP
    # connection (§7.1.1) and sends nothing more (§5.5.1).
    Mistake(
        "echoes_after_close",
        "after answering a CLOSE, goes on reading (and would echo what comes)",
        fails=("test_closing_handshake",),
        says="the server closes the TCP connection",
        edits=(
            (
                "            return  # handle_connection drains and closes the TCP connection",
                "            continue  # the mistake: a Close ends nothing",
            ),
        ),
    ),
    Mistake(
        "header_name_with_spaces",
        "header names checked only for spaces around them (``Bad Name: x`` passes)",
        fails=("test_refuses_a_malformed_request",),
        says="a header name is a token",
        edits=(
            (
                "if not colon or not TOKEN.fullmatch(name):",
                "if not colon or not name or name != name.strip():",
            ),
        ),
    ),
    # Every browser and library spells ``Sec-WebSocket-Key`` that way, so the usual clients
    # work; a client (or a proxy) that writes ``sec-websocket-key`` is refused.
    Mistake(
        "header_names_case_sensitive",
        "header names kept as sent and looked up as the RFC spells them",
        fails=("test_handshake_any_spelling",),
        says="header names are case-insensitive",
        edits=(
            ('name, value = name.lower(), value.strip(" \\t")', 'value = value.strip(" \\t")'),
            ('if "host" not in headers:', 'if "Host" not in headers:'),
            ('tokens("upgrade")', 'tokens("Upgrade")'),
            ('tokens("connection")', 'tokens("Connection")'),
            ('headers.get("sec-websocket-version")', 'headers.get("Sec-WebSocket-Version")'),
            ('headers.get("sec-websocket-key", "")', 'headers.get("Sec-WebSocket-Key", "")'),
        ),
    ),
    Mistake(
        "host_not_checked",
        "a request without Host is accepted",
        fails=("test_refuses_a_malformed_request",),
        says="Host is required",
        edits=(('if "host" not in headers:', "if False:"),),
    ),
    Mistake(
        "http_version_not_checked",
        "any HTTP version is accepted, HTTP/1.0 included",
        fails=("test_refuses_a_malformed_request",),
        says="needs HTTP/1.1",
        edits=(
            (
                'if request["method"] != "GET" or request["version"] != "HTTP/1.1":',
                'if request["method"] != "GET":',
            ),
        ),
    ),
    Mistake(
        "key_24_characters",
        "a key is judged by its 24 characters: 17 bytes in base64 are 24 characters too",
        fails=("test_refuses_a_malformed_request",),
        says="17 bytes",
        edits=(
            (
                "valid_key = len(base64.b64decode(key, validate=True)) == 16",
                "valid_key = len(key) == 24 and base64.b64decode(key, validate=True) is not None",
            ),
        ),
    ),
    Mistake(
        "key_any_base64",
        "a key that is base64 is accepted, whatever its length",
        fails=("test_refuses_a_malformed_request",),
        says="the key is 16 random bytes",
        edits=(
            (
                "valid_key = len(base64.b64decode(key, validate=True)) == 16",
                "valid_key = len(base64.b64decode(key, validate=True)) > 0",
            ),
        ),
    ),
    Mistake(
        "method_not_checked",
        "any method is accepted, POST included",
        fails=("test_refuses_a_malformed_request",),
        says="a WebSocket handshake is a GET",
        edits=(
            (
                'if request["method"] != "GET" or request["version"] != "HTTP/1.1":',
                'if request["version"] != "HTTP/1.1":',
            ),
        ),
    ),
    Mistake(
        "no_handshake_timeout",
        "no time limit on the request head: a slow client holds its connection forever",
        fails=("test_slow_clients",),
        says="HANDSHAKE_TIMEOUT",
        edits=(("async with asyncio.timeout(HANDSHAKE_TIMEOUT):", "if True:"),),
    ),
    Mistake(
        "orphan_continuation",
        "a continuation frame with no message started is taken for a new message (§5.4)",
        fails=("test_protocol_errors",),
        says="a CONT frame with no message started",
        edits=(("if opcode == CONT and message_type is None:", "if False:"),),
    ),
    Mistake(
        "text_not_checked",
        "text messages echoed without checking that they are UTF-8 (§8.1)",
        fails=("test_invalid_data",),
        says="expected a CLOSE frame with code 1007",
        edits=(("            if message_type == TEXT:\n", "            if False:\n"),),
    ),
    Mistake(
        "tokens_case_sensitive",
        "the ``websocket`` and ``Upgrade`` tokens compared as they are spelled",
        fails=("test_handshake_any_spelling",),
        says="case-insensitive tokens",
        edits=(
            (
                'return {token.strip(" \\t").lower() for token',
                'return {token.strip(" \\t") for token',
            ),
            (
                'if "upgrade" not in tokens("connection"):',
                'if "Upgrade" not in tokens("connection"):',
            ),
        ),
    ),
    Mistake(
        "unmasked_frames_accepted",
        "a client frame without a mask is taken as it is (§5.1 says: fail the connection)",
        fails=("test_protocol_errors",),
        says="an unmasked TEXT frame",
        edits=(("    if not masked:\n", "    if False:\n"),),
    ),
    Mistake(
        "upgrade_substring",
        "``Upgrade`` searched for the substring websocket, not the token",
        fails=("test_refuses_what_is_not_a_websocket_upgrade",),
        says="'websockets' is another token",
        edits=(
            (
                'if "websocket" not in tokens("upgrade"):',
                'if "websocket" not in headers.get("upgrade", "").lower():',
            ),
        ),
    ),
]
