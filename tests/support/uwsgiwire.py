"""The tests' own reading of a uwsgi request, written from the
protocol's description
(https://uwsgi-docs.readthedocs.io/en/latest/Protocol.html), to check
what the self-test writes: a four-byte header (modifier1, the size of
the block of variables as 16 bits little endian, modifier2), then each
variable as a 16-bit little-endian size and the bytes of its name, and
the same for its value."""

import struct


def decode(data):
    """(modifier1, modifier2, [(name, value), ...]) of the uwsgi request
    that is the whole of `data` (bytes)."""
    modifier1, size, modifier2 = struct.unpack('<BHB', data[:4])
    block = data[4:]
    assert len(block) == size, (len(block), size)
    variables = []
    at = 0
    while at < size:
        parts = []
        for _ in range(2):
            length, = struct.unpack('<H', block[at:at + 2])
            parts.append(block[at + 2:at + 2 + length])
            assert len(parts[-1]) == length
            at += 2 + length
        variables.append(tuple(parts))
    assert at == size
    return modifier1, modifier2, variables
