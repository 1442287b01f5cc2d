"""Read a TensorFlow 1.x checkpoint (tensor bundle) without TensorFlow.

A bundle is ``<prefix>.index`` (a LevelDB-format table mapping each variable name to a
``BundleEntryProto``: dtype, shape, shard, offset, size) plus ``<prefix>.data-00000-of-00001``
(the raw little-endian tensor bytes). We only need the dense float/int tensors that musicnn's
wheel ships, so this reader supports uncompressed tables and unsliced single-shard tensors, and
refuses anything else instead of guessing.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_TABLE_MAGIC = 0xDB4775248B80FB57
# tensorflow/core/framework/types.proto DataType -> numpy little-endian dtype
_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 9: "<i8", 10: "|b1", 19: "<f2"}


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Decode one protobuf message into (field number, value) pairs."""
    fields, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        fields.append((number, value))
    return fields


def _block_entries(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    block = data[offset:offset + size]
    if data[offset + size] != 0:
        raise ValueError("compressed checkpoint index blocks are not supported")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * n_restarts
    entries, pos, key = [], 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + value_len]))
        pos += value_len
    return entries


def _table(index: bytes) -> dict[bytes, bytes]:
    footer = index[-48:]
    if struct.unpack("<Q", footer[-8:])[0] != _TABLE_MAGIC:
        raise ValueError("not a TensorFlow checkpoint index (bad table magic)")
    pos = 0
    _, pos = _varint(footer, pos)  # metaindex offset
    _, pos = _varint(footer, pos)  # metaindex size
    index_offset, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    table: dict[bytes, bytes] = {}
    for _, handle in _block_entries(index, index_offset, index_size):
        block_offset, p = _varint(handle, 0)
        block_size, _ = _varint(handle, p)
        table.update(_block_entries(index, block_offset, block_size))
    return table


def read_checkpoint(prefix: str | Path) -> dict[str, np.ndarray]:
    """Return every tensor of the checkpoint at ``prefix`` as {variable name: array}.

    ``prefix`` is what TensorFlow's Saver was given, e.g. ``musicnn/MSD_musicnn/`` (the
    wheel's files are literally named ``.index`` and ``.data-00000-of-00001``).
    """
    prefix = str(prefix)
    index = Path(prefix + ".index").read_bytes()
    data = Path(prefix + ".data-00000-of-00001").read_bytes()
    tensors: dict[str, np.ndarray] = {}
    for key, value in _table(index).items():
        if key == b"":  # the BundleHeaderProto
            continue
        entry = dict.fromkeys(("dtype", "shard", "offset", "size"), 0)
        shape: list[int] = []
        for number, field in _proto_fields(value):
            if number == 1:
                entry["dtype"] = field
            elif number == 2:  # TensorShapeProto: repeated Dim (field 2) {size: 1}
                for dim_number, dim in _proto_fields(field):
                    if dim_number == 2:
                        shape.append(dict(_proto_fields(dim)).get(1, 0))
            elif number == 3:
                entry["shard"] = field
            elif number == 4:
                entry["offset"] = field
            elif number == 5:
                entry["size"] = field
            elif number == 7:
                raise ValueError(f"sliced tensor {key!r} is not supported")
        if entry["shard"] != 0:
            raise ValueError(f"tensor {key!r} lives in another shard; only one is supported")
        if entry["dtype"] not in _DTYPES:
            raise ValueError(f"tensor {key!r} has unsupported dtype {entry['dtype']}")
        raw = data[entry["offset"]:entry["offset"] + entry["size"]]
        tensors[key.decode()] = np.frombuffer(raw, dtype=_DTYPES[entry["dtype"]]).reshape(shape).copy()
    return tensors
