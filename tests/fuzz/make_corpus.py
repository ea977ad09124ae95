#!/usr/bin/env python3
# tests/fuzz/make_corpus.py: writes the seed corpora of the libFuzzer harnesses
# (corpus/safetensors/, corpus/checkpoint/, corpus/idx/, corpus/cifar/,
# corpus/stl10/, corpus/interactions/), small safetensors, IDX, CIFAR, STL-10,
# MovieLens and Gowalla files, valid and slightly broken, so that libFuzzer
# starts from the format's shape instead of guessing that a file opens with a
# little-endian length and JSON, or with 00 00 <type> <dims> (or gzip's
# 1f 8b), or is made of 3073-byte records, or of lines like 1::1193::5::978300760.
# Names say what the reader must answer: ok-* loads, bad-* is refused with
# nova::Error naming the file (tests/test_safetensors.cpp,
# test_checkpoint.cpp, test_idx.cpp, test_cifar.cpp, test_stl10.cpp and
# test_interaction_files.cpp hold every file to that, in the ordinary build).
# Standard library only; rerun after changing it and commit the files:
#   python3 tests/fuzz/make_corpus.py
import gzip
import json
import pathlib
import random
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent
SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2,
         "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8,
         "F64": 8, "C64": 8}
rng = random.Random(15)  # issue 15: the same bytes on every run


def data(dtype, shape):
    n = SIZES[dtype]
    for d in shape:
        n *= d
    return bytes(rng.randrange(256) for _ in range(n))


def raw(header, body=b""):
    """Length, header text (bytes or str) verbatim, body: any file at all."""
    if isinstance(header, str):
        header = header.encode()
    return struct.pack("<Q", len(header)) + header + body


def file(tensors, metadata=None, crc=True, pad=" "):
    """A file as nova writes it: __metadata__ first (with nova.crc32 unless
    crc is False), compact JSON padded with spaces (or `pad`) to 8 bytes,
    tensors laid out in the given order. tensors: [(name, dtype, shape)]."""
    header, body = {}, b""
    meta = dict(metadata or {})
    blobs = [data(dtype, shape) for _, dtype, shape in tensors]
    if crc:
        meta.setdefault("format", "pt")
        meta["nova.crc32"] = "%08x" % zlib.crc32(b"".join(blobs))
    if meta:
        header["__metadata__"] = meta
    for (name, dtype, shape), blob in zip(tensors, blobs):
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(body), len(body) + len(blob)]}
        body += blob
    text = json.dumps(header, separators=(",", ":"))
    padding = -len(text) % 8
    if pad != " " and padding == 0:
        padding = 8  # a file broken by its padding needs some
    return raw(text + pad * padding, body)


def flip(blob, at):
    return blob[:at] + bytes([blob[at] ^ 0x10]) + blob[at + 1:]


def write(folder, files, ext=".safetensors"):
    """files: {name: bytes}, written as corpus/<folder>/<name><ext>."""
    out = HERE / "corpus" / folder
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*" + ext):
        if old.name.startswith(("ok-", "bad-")):
            old.unlink()  # crash-* regressions found by fuzzing stay
    for name, blob in files.items():
        (out / (name + ext)).write_bytes(blob)


def entry(dtype, shape, offsets):
    return {"dtype": dtype, "shape": shape, "data_offsets": offsets}


# ---- the safetensors reader (core/safetensors.h) ----
two = file([("weight", "F32", [2, 3]), ("bias", "F64", [3])], {"epoch": "3"})
python_order = raw(json.dumps({
    "__metadata__": {"format": "pt"},
    "u": entry("U8", [3], [8, 11]), "h": entry("F16", [2], [0, 4]),
    "b": entry("BF16", [2, 1], [4, 8]), "z": entry("F16", [0], [11, 11])}), data("U8", [11]))
big_zero = 4611686018427387904  # 2^62
write("safetensors", {
    "ok-two-tensors": two,
    "ok-python-order-no-crc": python_order,
    "ok-no-tensors": file([]),
    "ok-empty-header": raw("{}      "),
    "ok-scalar-empty-bool-int": file([("step", "I64", []), ("empty", "F32", [0, 4]),
                                      ("mask", "BOOL", [5]), ("index", "I32", [3, 1])]),
    "ok-every-dtype": file([(d.lower(), d, [1]) for d in SIZES], crc=False),
    "ok-nine-dims": file([("w", "F32", [1] * 9)]),
    "ok-whitespace-tail": raw('{"w":' + json.dumps(entry("U8", [2], [0, 2])) + "}\n\t \r",
                              b"ab"),
    "bad-truncated-data": two[:-5],
    "bad-truncated-header": two[:20],
    "bad-crc": flip(two, len(two) - 3),
    "bad-nul-padding": file([("w", "U8", [1])], pad="\0"),
    "bad-overflow-zero-dim": raw(json.dumps({"w": entry("F32", [big_zero, big_zero, 0], [0, 0])})),
    "bad-overflow-bytes": raw(json.dumps({"w": entry("U8", [2**32, 2**32], [0, 1])}), b"x"),
    "bad-gap": raw(json.dumps({"a": entry("F32", [1], [0, 4]), "b": entry("F32", [1], [8, 12])}),
                   data("U8", [12])),
    "bad-overlap": raw(json.dumps({"a": entry("F32", [2], [0, 8]), "b": entry("F32", [2], [4, 12])}),
                       data("U8", [12])),
    "bad-header-length": struct.pack("<Q", 4096) + b"{}",
    "bad-not-json": raw('{"w": {"dtype": "F32", #}'),
    "bad-metadata-number": raw(json.dumps({"__metadata__": {"epoch": 3}})),
    "bad-negative-dim": raw(json.dumps({"w": entry("F32", [2, -1], [0, 0])})),
    "bad-subbyte-dtype": raw(json.dumps({"w": entry("F4", [2], [0, 1])}), b"x"),
    "bad-byte-count": raw(json.dumps({"w": entry("F32", [2], [0, 4])}), data("U8", [4])),
    "bad-deep-nesting": raw('{"w": {"dtype": "F32", "shape": ' + "[" * 20 + "]" * 20 +
                            ', "data_offsets": [0, 0]}}'),
    "bad-number-overflow": raw(json.dumps({"w": entry("U8", [1], [0, 1])}).replace("[1]", "[1e999]"),
                               b"x"),
})

# ---- the checkpoint loader (nn/checkpoint.h) and load_state_dict ----
# The harness's model: Sequential(Linear(3, 4), BatchNorm1d(4), Tanh, Linear(4, 2)).
def model(dtype="F32", hidden=4):
    return [("0.weight", dtype, [hidden, 3]), ("0.bias", dtype, [hidden]),
            ("1.weight", dtype, [hidden]), ("1.bias", dtype, [hidden]),
            ("1.running_mean", dtype, [hidden]), ("1.running_var", dtype, [hidden]),
            ("1.num_batches_tracked", "I64", []),
            ("3.weight", dtype, [2, hidden]), ("3.bias", dtype, [2])]


f32 = file(model())
write("checkpoint", {
    "ok-model-f32": f32,
    "ok-model-f64": file(model("F64"), {"epoch": "7"}),
    "ok-model-wider": file(model(hidden=5)),        # loads; load_state_dict refuses the shapes
    "ok-some-keys": file(model()[:3]),              # strict refuses, non-strict loads
    "ok-extra-key": file(model() + [("extra", "I32", [2])]),
    "ok-wrong-dtype": file([(k, "I32" if k == "0.bias" else d, s) for k, d, s in model()]),
    "bad-f16": file([("0.weight", "F16", [4, 3])]),
    "bad-nine-dims": file([("w", "F32", [1] * 9)]),
    "bad-overflow-zero-dim": raw(json.dumps({"w": entry("F32", [big_zero, big_zero, 0], [0, 0])})),
    "bad-nul-padding": file(model(), pad="\0"),
    "bad-crc": flip(f32, len(f32) - 1),
    "bad-truncated": f32[:len(f32) // 2],
})

# ---- the IDX reader (datasets/idx.h): MNIST's format, big-endian ----
IDX_TYPES = {0x08: "B", 0x09: "b", 0x0B: "h", 0x0C: "i", 0x0D: "f", 0x0E: "d"}


def idx_header(code, dims):
    return bytes([0, 0, code, len(dims)]) + struct.pack(">%dI" % len(dims), *dims)


def idx(code, dims, values=None):
    """A whole IDX file; values default to small numbers every type holds."""
    n = 1
    for d in dims:
        n *= d
    if values is None:
        values = [rng.randrange(100) for _ in range(n)]
    return idx_header(code, dims) + struct.pack(">%d%s" % (n, IDX_TYPES[code]), *values)


def gz(blob):
    return gzip.compress(blob, mtime=0)  # mtime 0: the same bytes on every run


images = idx(0x08, [3, 4, 4])
labels = idx(0x08, [3], [9, 0, 4])
ints = idx(0x0C, [2, 3])
write("idx", {
    "ok-images-u8.idx": images,
    "ok-labels-u8.idx": labels,
    "ok-images-u8.idx.gz": gz(images),
    "ok-i8.idx": idx(0x09, [5], [-128, -1, 0, 1, 127]),
    "ok-i16.idx": idx(0x0B, [2, 2], [-32768, 32767, -1, 0]),
    "ok-i32.idx.gz": gz(ints),
    "ok-f32-4d.idx": idx(0x0D, [1, 2, 2, 2], [0.5, -1.0, 3.25, 1e-30, 0, 1, 2, 3]),
    "ok-f64.idx": idx(0x0E, [3], [0.1, -2.5, 1e300]),
    "ok-empty.idx": idx_header(0x0D, [0, 5]),
    "ok-eight-dims.idx": idx(0x08, [1] * 8),
    "ok-two-members.idx.gz": gz(labels[:5]) + gz(labels[5:]),
    "bad-magic.idx": b"\x01" + images[1:],
    "bad-type.idx": images[:2] + b"\x0a" + images[3:],
    "bad-zero-dims.idx": idx_header(0x08, []),
    "bad-nine-dims.idx": idx(0x08, [1] * 9),
    "bad-truncated-header.idx": images[:9],
    "bad-overflow.idx": idx_header(0x08, [0xFFFFFFFF] * 3),
    "bad-claims-too-much.idx": idx_header(0x08, [60000, 28, 28]) + images[16:],
    "bad-truncated-data.idx": ints[:-1],
    "bad-trailing.idx": ints + b"xy",
    "bad-gzip-truncated.idx.gz": gz(images)[:-3],
    "bad-gzip-crc.idx.gz": flip(gz(ints), len(gz(ints)) - 6),
    "bad-gzip-trailing.idx.gz": gz(ints + b"x"),
    "bad-gzip-claims-6gib.idx.gz": gz(idx_header(0x08, [0x80000000, 3])),
    "bad-gzip-claims-more.idx.gz": gz(idx_header(0x08, [60000, 28, 28]) + bytes(4000)),
}, ext="")

# ---- the CIFAR readers (datasets/cifar.h): records of label byte(s) + 3072 pixels ----
# Names say which reader: *-10-* CIFAR-10 (1 label byte), *-100-* CIFAR-100
# (coarse, fine). Pixels are random; new sections go last, so the rng draws
# of the ones above stay as they were.
def cifar_record(*labels):
    return bytes(labels) + bytes(rng.randrange(256) for _ in range(3072))


c10 = cifar_record(3) + cifar_record(9)
c100 = cifar_record(19, 99) + cifar_record(0, 0)
write("cifar", {
    "ok-10-one.bin": cifar_record(0),
    "ok-10-two.bin": c10,
    "ok-100-one.bin": cifar_record(7, 42),
    "ok-100-two.bin": c100,
    "bad-10-empty.bin": b"",
    "bad-10-truncated.bin": c10[:3000],
    "bad-10-trailing.bin": c10 + b"xyz",
    "bad-10-label.bin": cifar_record(1) + cifar_record(10),
    "bad-100-coarse.bin": cifar_record(20, 5),
    "bad-100-fine.bin": c100[:3074] + cifar_record(3, 100),
    "bad-100-a-cifar10-file.bin": c10,  # 6146 bytes: 1 record of 3074 and 3072 left over
}, ext="")


# ---- the STL-10 reader (datasets/stl10.h): 27648-byte images, 1-10 labels ----
# Names with _y are label files, the others image files. An image is
# 3 x 96 x 96 column-major; a smooth pattern, not random bytes, keeps the
# 27 KB files small in git.
def stl_image(k):
    return bytes((k * 31 + c * 67 + row * 5 + col * 11) % 256
                 for c in range(3) for col in range(96) for row in range(96))


write("stl10", {
    "ok-train_X-one.bin": stl_image(0),
    "ok-train_X-two.bin": stl_image(1) + stl_image(2),
    "ok-train_y.bin": bytes(range(1, 11)),
    "ok-test_y-one.bin": bytes([10]),
    "bad-empty_X.bin": b"",
    "bad-train_X-truncated.bin": stl_image(3)[:1000],
    "bad-train_X-trailing.bin": stl_image(4) + b"abc",
    "bad-empty_y.bin": b"",
    "bad-train_y-zero.bin": bytes([1, 2, 0, 4]),
    "bad-train_y-eleven.bin": bytes([11]),
}, ext="")


# ---- the interaction readers (datasets/interaction_files.h) ----
# One harness for both formats: byte 0 picks the reader ('G' Gowalla,
# anything else MovieLens; these files use 'M'), the rest is the file.
ml = b"1::1193::5::978300760\n1::661::3::978302109\n6040::1097::4::956715569\n"
gw = (b"0\t2010-10-19T23:55:27Z\t30.2359091167\t-97.7951395833\t22847\n"
      b"0\t2010-10-18T22:17:43Z\t30.2691029532\t-97.7493953705\t420315\n")
gw_line = gw.split(b"\n")[0]
write("interactions", {
    "ok-movielens-three.dat": b"M" + ml,
    "ok-movielens-crlf.dat": b"M" + ml.replace(b"\n", b"\r\n"),
    "ok-movielens-no-final-newline.dat": b"M" + ml[:-1],
    "bad-movielens-three-fields.dat": b"M" + ml + b"1::661::3\n",
    "bad-movielens-rating-6.dat": b"M" + ml.replace(b"::4::", b"::6::"),
    "bad-movielens-letter.dat": b"M" + ml.replace(b"1193", b"11x3"),
    "bad-movielens-overflow.dat": b"M1::2::3::99999999999999999999\n",
    "bad-movielens-empty-line.dat": b"M" + ml + b"\n" + ml,
    "bad-movielens-empty.dat": b"M",
    "bad-movielens-a-gowalla-file.dat": b"M" + gw,
    "ok-gowalla-two.txt": b"G" + gw,
    "ok-gowalla-leap-day.txt": b"G7\t2012-02-29T00:00:00Z\t0\t-0.5\t9",
    "bad-gowalla-month-13.txt": b"G" + gw.replace(b"2010-10-19", b"2010-13-19"),
    "bad-gowalla-february-30.txt": b"G" + gw.replace(b"2010-10-19", b"2010-02-30"),
    "bad-gowalla-four-fields.txt": b"G" + gw_line.rsplit(b"\t", 1)[0] + b"\n",
    "bad-gowalla-latitude.txt": b"G" + gw.replace(b"30.2359091167", b"30.23.5"),
    "bad-gowalla-truncated.txt": b"G" + gw[:len(gw_line) + 15],
    "bad-gowalla-empty.txt": b"G",
    "bad-gowalla-a-movielens-file.txt": b"G" + ml,
}, ext="")
