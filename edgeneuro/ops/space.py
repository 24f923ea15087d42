"""DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND, SPACE_TO_BATCH_ND: NHWC rearrangements of
int8 and float32 tensors (TFLM's types), pure copies except SPACE_TO_BATCH_ND's padding.

Spec (TFLM ``depth_to_space.cc``, ``space_to_depth.cc``, ``batch_to_space_nd.cc``,
``space_to_batch_nd.cc`` and TFLite's reference kernels), with ``b`` the block size:

* DEPTH_TO_SPACE (``block_size`` b > 0, 4-D input whose depth C is a multiple of b*b):
  ``out[n, h*b + i, w*b + j, c] = in[n, h, w, (i*b + j) * C/(b*b) + c]``.
* SPACE_TO_DEPTH (b > 0, 4-D input whose height and width are multiples of b):
  ``out[n, h, w, (i*b + j) * C + c] = in[n, h*b + i, w*b + j, c]``.
* BATCH_TO_SPACE_ND (3-D NHC, seen as NHWC with W = 1, or 4-D NHWC; constant int32 ``block_shape``
  [bh(, bw)] and ``crops`` [[top, bottom](, [left, right])]): the input batch ``(i*bw + j) * N + n``
  holds ``out[n, h*bh + i - top, w*bw + j - left, c]`` (dropped where cropped away); the output
  has N = batch / (bh*bw) and height H*bh - top - bottom, width likewise.
* SPACE_TO_BATCH_ND (same ranks; ``block_shape`` and ``paddings``): the inverse, over the input
  padded by [top, bottom] and [left, right]:
  ``out[(i*bw + j) * N + n, h, w, c] = padded[n, h*bh + i, w*bw + j, c]``; the padded size must be
  a multiple of the block. The padding is the output's zero point (0.0 for float32), TF's value
  and what TFLite's kernel sets. TFLM pads with ``SpaceToBatchParams.output_offset``, which it
  never sets: its padding is whatever that persistent buffer holds (0 or 2 in the pinned
  interpreter, changing from model to model), so edgeneuro cannot equal it there; the tests
  compare every other element with TFLM and the padding with the zero point.

TFLM takes the output shape from the model; edgeneuro requires it to be the one above, block sizes
>= 1, crops and paddings >= 0, constant block shapes, crops and paddings, and equal input/output
quantization (the bytes are copied). The C kernels work on rows of channel bytes, so one kernel
serves both types.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, check_shape, const_operand, copy_operands, unsupported

KINDS = ("DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND")
C_FILE = "space"
MAX_VERSION = {"DEPTH_TO_SPACE": 2, "SPACE_TO_DEPTH": 2, "BATCH_TO_SPACE_ND": 4, "SPACE_TO_BATCH_ND": 4}
DTYPES = ("int8", "float32")
FN = {k: f"en_{k.lower().removesuffix('_nd')}" for k in KINDS}


def _block_op(op: Op, g: Graph, x, y) -> tuple[list[int], list[int], list[int]]:
    """Dims as 4-D NHWC, block [bh, bw] and the offsets [top, left] of BATCH_TO_SPACE_ND (crops) or
    SPACE_TO_BATCH_ND (paddings); checks the output shape."""
    rank = len(x.shape)
    if rank not in (3, 4) or len(y.shape) != rank:
        raise unsupported(g, op, f"input rank {rank}, output rank {len(y.shape)}; TFLM takes 3-D or 4-D tensors")
    spatial = rank - 2
    bt = const_operand(g, op, 1, "block shape")
    ct = const_operand(g, op, 2, "crops" if op.kind == "BATCH_TO_SPACE_ND" else "paddings")
    if bt.size != spatial or list(ct.shape) != [spatial, 2]:
        raise unsupported(g, op, f"block shape {list(bt.shape)} and {list(ct.shape)} for {spatial} spatial dims")
    block = [int(v) for v in np.asarray(bt.data).reshape(-1)] + [1] * (2 - spatial)
    edges = np.asarray(ct.data).reshape(spatial, 2).tolist() + [[0, 0]] * (2 - spatial)
    if min(block) < 1 or min(min(e) for e in edges) < 0:
        raise unsupported(g, op, f"block {block[:spatial]} and {edges[:spatial]}: blocks >= 1, edges >= 0")
    dims = list(x.shape) if rank == 4 else [x.shape[0], x.shape[1], 1, x.shape[2]]
    n, h, w, c = dims
    if op.kind == "BATCH_TO_SPACE_ND":
        out = [n // (block[0] * block[1])]
        out += [d * b - e[0] - e[1] for d, b, e in zip((h, w), block, edges, strict=True)]
        if n % (block[0] * block[1]) or min(out[1:]) < 1:
            raise unsupported(g, op, f"batch {n} with block {block[:spatial]} and crops {edges[:spatial]}")
    else:
        if any((d + e[0] + e[1]) % b for d, b, e in zip((h, w), block, edges, strict=True)):
            raise unsupported(g, op, f"padded {[h, w][:spatial]} by {edges[:spatial]} is not a multiple of {block}")
        out = [n * block[0] * block[1]]
        out += [(d + e[0] + e[1]) // b for d, b, e in zip((h, w), block, edges, strict=True)]
    out.append(c)
    check_shape(g, op, y, tuple(out) if rank == 4 else (out[0], out[1], c))
    return dims, block, [edges[0][0], edges[1][0]]


def lower(op: Op, g: Graph) -> Kernel:
    x, y = g.t(op.inputs[0]), g.t(op.outputs[0])
    esize = copy_operands(g, op, [x], [y], DTYPES)
    pad = 0
    if op.kind in ("DEPTH_TO_SPACE", "SPACE_TO_DEPTH"):
        bs = int(op.attrs.get("block_size", 0))
        if len(x.shape) != 4 or bs < 1:
            raise unsupported(g, op, f"block size {bs} on a {len(x.shape)}-D input; TFLM takes 4-D and b > 0")
        n, h, w, c = x.shape
        if op.kind == "DEPTH_TO_SPACE":
            if c % (bs * bs):
                raise unsupported(g, op, f"depth {c} is not a multiple of {bs}x{bs}")
            check_shape(g, op, y, (n, h * bs, w * bs, c // (bs * bs)))
        else:
            if h % bs or w % bs:
                raise unsupported(g, op, f"height {h} and width {w} must be multiples of {bs}")
            check_shape(g, op, y, (n, h // bs, w // bs, c * bs * bs))
        dims, block, offsets = list(x.shape), [bs, bs], [0, 0]
        summary = f"block {bs}"
    else:
        dims, block, offsets = _block_op(op, g, x, y)
        summary = f"block {block}, {'crops' if op.kind == 'BATCH_TO_SPACE_ND' else 'paddings'} from {offsets}"
        if op.kind == "SPACE_TO_BATCH_ND" and y.quant is not None:
            pad = y.zero_point  # one byte: int8 only (float32 pads with 0.0, all bytes 0)
    oshape = list(y.shape) if len(y.shape) == 4 else [y.shape[0], y.shape[1], 1, y.shape[2]]
    row = {"DEPTH_TO_SPACE": oshape[3], "SPACE_TO_DEPTH": dims[3]}.get(op.kind, dims[3]) * esize
    params = dict(zip(("in_n", "in_h", "in_w"), dims[:3], strict=True))
    params |= dict(zip(("out_n", "out_h", "out_w"), oshape[:3], strict=True))
    params |= {"block_h": block[0], "block_w": block[1], "off_h": offsets[0], "off_w": offsets[1]}
    params |= {"row": row, "pad": pad}
    return Kernel(op=op, fn=FN[op.kind], params=params, inputs=(x.name,), outputs=(y.name,), summary=summary)


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    bh, bw, row = p["block_h"], p["block_w"], p["row"]
    n, h, w = p["in_n"], p["in_h"], p["in_w"]
    on, oh, ow = p["out_n"], p["out_h"], p["out_w"]
    b = np.ascontiguousarray(x).reshape(-1).view(np.uint8)
    kind = k.op.kind
    if kind == "DEPTH_TO_SPACE":
        out = b.reshape(n, h, w, bh, bw, row).transpose(0, 1, 3, 2, 4, 5)
    elif kind == "SPACE_TO_DEPTH":
        out = b.reshape(n, oh, bh, ow, bw, row).transpose(0, 1, 3, 2, 4, 5)
    elif kind == "BATCH_TO_SPACE_ND":
        full = b.reshape(bh, bw, on, h, w, row).transpose(2, 3, 0, 4, 1, 5).reshape(on, h * bh, w * bw, row)
        out = full[:, p["off_h"] : p["off_h"] + oh, p["off_w"] : p["off_w"] + ow]
    else:
        padded = np.full((n, oh * bh, ow * bw, row), p["pad"] & 0xFF, np.uint8)
        padded[:, p["off_h"] : p["off_h"] + h, p["off_w"] : p["off_w"] + w] = b.reshape(n, h, w, row)
        out = padded.reshape(n, oh, bh, ow, bw, row).transpose(2, 4, 0, 1, 3, 5)
    return np.ascontiguousarray(out).reshape(-1).view(x.dtype)
