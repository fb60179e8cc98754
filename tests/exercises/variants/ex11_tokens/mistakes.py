"""ex11 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "eq_compare",
        "the signature compared with != (its timing tells an attacker how many bytes matched)",
        fails=("test_signature_compared_in_constant_time",),
        edits=(("if not hmac.compare_digest(signature, expected):", "if signature != expected:"),),
    ),
    Mistake(
        "no_audience",
        "the audience never checked: a token minted for another service opens this one",
        fails=("test_other_audience_gets_403",),
        edits=(('if claims["aud"] != audience:', "if False:"),),
    ),
    Mistake(
        "no_expiry",
        "the expiry never checked: a leaked token works forever",
        fails=("test_expired_tokens_get_401",),
        edits=(
            ('expiry = float(claims["exp"])', 'float(claims["exp"])'),
            ("if now >= expiry:", "if False:"),
        ),
    ),
]
