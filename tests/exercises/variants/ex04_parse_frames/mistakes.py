"""ex04 mistakes that look right: each must cost the points of the tests it lists."""

from grading_support import Mistake

MISTAKES = [
    Mistake(
        "rsv1_only",
        "only RSV1 checked",
        fails=("test_rsv_bits_rejected",),
        edits=(("buffer[0] & 0x70, buffer[0]", "buffer[0] & 0x40, buffer[0]"),),
    ),
    Mistake(
        "high_opcodes_only",
        "only opcodes above 10 treated as reserved",
        fails=("test_reserved_opcodes_rejected",),
        edits=(("if opcode not in (CONT, TEXT, BINARY, CLOSE, PING, PONG):", "if opcode > PONG:"),),
    ),
    Mistake(
        "control_length_unchecked",
        "long control frames accepted",
        fails=("test_bad_control_frames_rejected",),
        edits=(("if opcode >= CLOSE and length > 125:", "if opcode >= CLOSE and length > 127:"),),
    ),
    Mistake(
        "fragmented_control_accepted",
        "control frames with FIN=0 accepted",
        fails=("test_bad_control_frames_rejected",),
        edits=(("if opcode >= CLOSE and not fin:", "if False:"),),
    ),
    Mistake(
        "masking_checked_one_way",
        "masked frames accepted on a client",
        fails=("test_wrong_masking_rejected",),
        edits=(("if masked != self.expect_masked:", "if self.expect_masked and not masked:"),),
    ),
    Mistake(
        "max_payload_after_the_payload",
        "the length checked once the whole payload is buffered",
        fails=("test_max_payload_checked_before_the_payload",),
        edits=(
            (
                "            if length > self.max_payload:",
                "            if length > self.max_payload and len(buffer) >= position + length:",
            ),
        ),
    ),
    Mistake(
        "max_payload_exclusive",
        "a payload of exactly max_payload refused",
        fails=("test_max_payload_checked_before_the_payload",),
        edits=(("if length > self.max_payload:", "if length >= self.max_payload:"),),
    ),
    Mistake(
        "one_frame_per_feed",
        "at most one frame returned per feed",
        fails=("test_rfc_examples", "test_websockets_frames"),
        edits=(
            (
                "            frames.append(Frame(fin, opcode, payload, masked))\n",
                "            frames.append(Frame(fin, opcode, payload, masked))\n"
                "            break\n",
            ),
        ),
    ),
    Mistake(
        "rest_of_chunk_dropped",
        "bytes after a complete frame thrown away",
        fails=("test_websockets_frames", "test_real_websockets_client"),
        edits=(("            del buffer[:end]\n", "            del buffer[:]\n"),),
    ),
    Mistake(
        "sixteen_bit_lengths_only",
        "a 127 length read as 2 bytes",
        fails=("test_rfc_examples", "test_websockets_frames"),
        edits=(("size = 2 if length == 126 else 8", "size = 2"),),
    ),
    Mistake(
        "key_at_fixed_offset",
        "the masking key always read at byte 2",
        fails=("test_websockets_frames", "test_real_websockets_client"),
        edits=(("bytes(buffer[position : position + 4])", "bytes(buffer[2:6])"),),
    ),
    Mistake(
        "frame_out_one_byte_late",
        "a frame waits for one byte more than it has",
        fails=("test_rfc_examples", "test_one_byte_at_a_time"),
        edits=(("            if len(buffer) < end:", "            if len(buffer) <= end:"),),
    ),
    Mistake(
        "not_unmasked",
        "the payload returned still masked",
        fails=("test_rfc_examples", "test_websockets_frames"),
        edits=(
            (
                "                payload = apply_mask(payload,",
                "                payload = bytes(payload) or apply_mask(payload,",
            ),
        ),
    ),
]
