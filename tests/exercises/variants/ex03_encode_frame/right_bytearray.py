"""ex03, another style: a bytearray built step by step, int.to_bytes, and a whole-payload XOR."""

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def apply_mask(data: bytes, mask_key: bytes) -> bytes:
    repeated = (mask_key * (len(data) // 4 + 1))[: len(data)]
    mixed = int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")
    return mixed.to_bytes(len(data), "big")


def encode_frame(opcode, payload, *, fin=True, mask_key=None):
    control = opcode & 0x8
    if control and (not fin or len(payload) > 125):
        raise ValueError("control frames are unfragmented and carry at most 125 bytes")
    if mask_key is not None and len(mask_key) != 4:
        raise ValueError("a masking key is 4 bytes")
    frame = bytearray([opcode | (0x80 if fin else 0x00)])
    mask = 0x00 if mask_key is None else 0x80
    n = len(payload)
    if n < 126:
        frame.append(mask | n)
    elif n < 1 << 16:
        frame.append(mask | 126)
        frame += n.to_bytes(2, "big")
    else:
        frame.append(mask | 127)
        frame += n.to_bytes(8, "big")
    if mask_key is None:
        frame += payload
    else:
        frame += mask_key
        frame += apply_mask(payload, mask_key)
    return bytes(frame)
