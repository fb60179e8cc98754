"""ex03 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "empty_key_sends_unmasked",
        "mask_key tested for truth, so b'' sends an unmasked frame instead of an error",
        fails=("test_invalid_frames_raise_value_error",),
        edits=(
            (
                "if mask_key is not None and len(mask_key) != 4:",
                "if mask_key and len(mask_key) != 4:",
            ),
            (
                "mask_bit = 0x80 if mask_key is not None else 0",
                "mask_bit = 0x80 if mask_key else 0",
            ),
            (
                "    if mask_key is None:\n        return header",
                "    if not mask_key:\n        return header",
            ),
        ),
    ),
    Mistake(
        "zero_key_sends_unmasked",
        "a key of zero bytes treated as no key",
        fails=("test_masked_frames_parse_with_websockets",),
        edits=(
            (
                "mask_bit = 0x80 if mask_key is not None else 0",
                "mask_bit = 0x80 if mask_key and any(mask_key) else 0",
            ),
            (
                "    if mask_key is None:\n        return header",
                "    if not mask_bit:\n        return header",
            ),
        ),
    ),
    Mistake(
        "no_key_length_check",
        "a mask_key of any length accepted",
        fails=("test_invalid_frames_raise_value_error",),
        edits=(("if mask_key is not None and len(mask_key) != 4:", "if False:"),),
    ),
    Mistake(
        "seven_bit_up_to_126",
        "the 7-bit length used up to 126",
        fails=("test_shortest_length_encoding", "test_unmasked_frames_equal_websockets_bytes"),
        edits=(("if length <= 125:", "if length <= 126:"),),
    ),
    Mistake(
        "sixteen_bit_below_65535",
        "the 16-bit length used only below 65,535",
        fails=("test_shortest_length_encoding",),
        edits=(("elif length <= 0xFFFF:", "elif length < 0xFFFF:"),),
    ),
    Mistake(
        "control_limit_124",
        "control frames limited to 124 bytes",
        fails=("test_invalid_frames_raise_value_error",),
        edits=(("if len(payload) > 125:", "if len(payload) >= 125:"),),
    ),
    Mistake(
        "fragmented_control_allowed",
        "control frames with fin=False accepted",
        fails=("test_invalid_frames_raise_value_error",),
        edits=(("        if not fin:\n            raise", "        if False:\n            raise"),),
    ),
    Mistake(
        "mask_cycle_of_three",
        "the key cycled every 3 bytes",
        fails=("test_rfc_masked_text", "test_masked_frames_parse_with_websockets"),
        edits=(("mask_key[i % 4] for i", "mask_key[i % 3] for i"),),
    ),
    Mistake(
        "fin_always_set",
        "FIN set whatever fin says",
        fails=("test_rfc_fragmented_text", "test_unmasked_frames_equal_websockets_bytes"),
        edits=(("byte0 = (0x80 if fin else 0) | opcode", "byte0 = 0x80 | opcode"),),
    ),
    Mistake(
        "little_endian_length",
        "the extended length in little-endian order",
        fails=("test_rfc_extended_lengths", "test_shortest_length_encoding"),
        edits=(
            ('struct.pack("!BBH", byte0, mask_bit', 'struct.pack("<BBH", byte0, mask_bit'),
            ('struct.pack("!BBQ", byte0', 'struct.pack("<BBQ", byte0'),
        ),
    ),
    Mistake(
        "key_after_payload",
        "the masking key sent after the payload",
        fails=("test_rfc_masked_text", "test_masked_frames_parse_with_websockets"),
        edits=(
            (
                "return header + mask_key + apply_mask(payload, mask_key)",
                "return header + apply_mask(payload, mask_key) + mask_key",
            ),
        ),
    ),
]
