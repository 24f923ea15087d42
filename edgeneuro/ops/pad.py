"""PAD and PADV2, int8, constant padding, up to 5-D.

Spec (TFLM ``pad.cc`` / ``pad_common.cc``, ``reference_ops::PadImpl``): the input is copied into
the middle of the output; every other element is the pad value. PAD pads with the *output* zero
point (``static_cast<uint8_t>(output_zero_point)`` read back as int8, i.e. the zero point itself);
PADV2 pads with its scalar ``constant_values`` int8 value, whose scale and zero point TFLM's Prepare
requires to equal the output's. Shapes are extended to 5-D with leading 1s (TFLM
``PadKernelMaxDimensionCount() == 5``; it rejects 6-D). Paddings must be a constant int32
``[rank, 2]`` tensor with ``out[i] == in[i] + before[i] + after[i]``.

TFLM copies the bytes without requantizing, whatever the input's quantization; edgeneuro, as for
the views, requires input and output to share scale and zero point (a model that does not is
rejected, not silently reinterpreted), and rejects negative paddings.
"""

from __future__ import annotations

import numpy as np

from edgeneuro.ir import Graph, Op
from edgeneuro.ops.base import Kernel, byte_copy_operands, check_shape, const_operand, same_quant, unsupported

KINDS = ("PAD", "PADV2")
C_FILE = "pad"
MAX_VERSION = {"PAD": 4, "PADV2": 4}  # newest TFLite op versions handled (4: 5-D)
MAX_RANK = 5


def lower(op: Op, g: Graph) -> Kernel:
    x, y = byte_copy_operands(g, op, MAX_RANK)
    rank = len(x.shape)
    pt = const_operand(g, op, 1, "paddings")
    if pt.size != 2 * rank:
        raise unsupported(g, op, f"paddings '{pt.name}' must be int32 [{rank}, 2], not {pt.dtype} {list(pt.shape)}")
    pads = np.asarray(pt.data, np.int64).reshape(rank, 2)
    if (pads < 0).any():
        raise unsupported(g, op, f"negative paddings {pads.tolist()}")
    check_shape(g, op, y, tuple(int(d + a + b) for d, (a, b) in zip(x.shape, pads, strict=True)))

    value = y.zero_point
    if len(op.inputs) > 2 and op.inputs[2]:  # TFLM reads a third input as the pad value, PAD or PADV2
        cv = g.t(op.inputs[2])
        if cv.data is None:
            raise unsupported(g, op, "the pad value must be a constant")
        if cv.dtype != "int8" or cv.size != 1 or cv.quant is None:
            raise unsupported(g, op, f"pad value '{cv.name}' must be an int8 quantized scalar, not {cv.dtype}")
        if not same_quant(cv, y):
            raise unsupported(g, op, "the pad value is quantized differently from the output (TFLM rejects it)")
        value = int(np.asarray(cv.data).reshape(-1)[0])

    lead = MAX_RANK - rank
    dims = [1] * lead + list(x.shape)
    before = [0] * lead + [int(a) for a, _ in pads]
    after = [0] * lead + [int(b) for _, b in pads]
    params = {f"dim{i}": dims[i] for i in range(MAX_RANK)}
    params |= {f"before{i}": before[i] for i in range(MAX_RANK)}
    params |= {f"after{i}": after[i] for i in range(MAX_RANK)}
    params["value"] = value
    return Kernel(
        op=op,
        fn="en_pad_s8",
        params=params,
        inputs=(x.name,),
        outputs=(y.name,),
        summary=f"paddings {pads.tolist()}, value {value}",
    )


def reference(k: Kernel, x: np.ndarray) -> np.ndarray:
    p = k.params
    dims = [p[f"dim{i}"] for i in range(MAX_RANK)]
    widths = [(p[f"before{i}"], p[f"after{i}"]) for i in range(MAX_RANK)]
    out = np.pad(np.asarray(x, np.int8).reshape(dims), widths, mode="constant", constant_values=p["value"])
    return out.astype(np.int8).reshape(-1)
