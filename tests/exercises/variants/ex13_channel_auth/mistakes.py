"""ex13 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

# What sign() signs in the solution, and the tests that see a signature made of other text.
SIGNED = (
    "parts = [socket_id, channel] if channel_data is None else [socket_id, channel, channel_data]"
)
SIGNATURE_TESTS = (
    "test_sign_gives_pushers_worked_example",
    "test_verify_accepts_the_right_signatures",
)

MISTAKES = [
    Mistake(
        "crashes_on_bad_auth",
        "trusts the shape of `auth` (None, or a string without a colon, crash with "
        "AttributeError or IndexError instead of AuthError) and compares with == (timing leak)",
        fails=("test_malformed_auth_is_refused_with_auth_error",),
        says="AttributeError",
        edits=(
            (
                '    if not isinstance(auth, str) or ":" not in auth:\n'
                "        raise AuthError(\"auth must be 'key:signature'\")\n",
                "",
            ),
            (
                "if not hmac.compare_digest(auth.encode(), expected.encode()):",
                'if auth.split(":")[1] != expected.split(":")[1] or auth[: len(key)] != key:',
            ),
        ),
    ),
    Mistake(
        "no_socket_id",
        "signs the channel without the socket id, so one signature opens the channel for every "
        "connection (cross-socket and replayed signatures pass)",
        fails=SIGNATURE_TESTS,
        edits=(
            (
                SIGNED,
                "parts = [channel] if channel_data is None else [channel, channel_data]",
            ),
        ),
    ),
    Mistake(
        "presence_ignores_user",
        "sign() leaves channel_data out of the signed text, so anyone with a signature can "
        "claim to be any user of a presence channel",
        fails=SIGNATURE_TESTS,
        edits=(
            (
                SIGNED,
                "parts = [socket_id, channel]",
            ),
        ),
    ),
]
