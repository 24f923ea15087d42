"""Weight sparsity patterns (`compress --prune-pattern`): what each one means, the magnitude masks
that make it, and the check that a weight matrix follows it. Pure numpy, so that the compiler can
use the same definitions when it chooses a sparse storage format for a layer.

Every pattern applies to a layer's weight matrix viewed as **[output units, inputs]** ("OI"): a
FULLY_CONNECTED's ``[out, in]``, a CONV_2D's OHWI filter as ``[out, kh*kw*in]``: the inputs of one
output channel contiguous, in the order the generated C reads them. A stored tensor maps to that
view through its ``Layout`` (Keras kernels are ``[in, out]`` for Dense and ``[kh, kw, in, out]``
for convolutions, ONNX convolutions ``[out, in, kh, kw]``, ...).

- ``unstructured``: the ``round(sparsity * size)`` weights of smallest magnitude are zero.
- ``block:RxC``: the matrix is tiled from its top-left corner into blocks of R rows (output units)
  by C consecutive inputs; where the number of outputs or inputs is not a multiple of R or C, the
  blocks of the last rows or columns are partial (smaller). Pruning zeroes whole blocks: they are
  ranked by their mean magnitude (their L1 norm per weight, tensorflow-model-optimization's 'AVG'
  block pooling, so that a partial block competes on equal terms) and the lowest-ranked ones are
  zeroed, as many as bring the zeroed weights closest to ``sparsity * size``: the achieved
  sparsity is within one block of the request. A kept block may hold zeros of its own.
- ``N:M``: in each row, every group of M consecutive inputs (counted from the row's first input)
  has at most N non-zero weights; pruning keeps the N of largest magnitude. Where the number of
  inputs is not a multiple of M, the last group of a row is partial and keeps at most N as well
  (all of it when it has N or fewer). The sparsity is 1 - N/M (a little less with partial groups).

``pattern_holds`` says whether a matrix follows a pattern; int8 quantization keeps it, since
symmetric int8 weights map 0.0 to 0 and can only add zeros.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from edgeneuro.errors import InputError

ACCEPTED = (
    "unstructured, block:RxC (blocks of R output rows by C consecutive inputs zeroed together, e.g. "
    "block:1x4) or N:M (at most N non-zero weights in every M consecutive inputs, 0 < N < M, e.g. 2:4)"
)


@dataclass(frozen=True)
class Pattern:
    """A sparsity pattern and the fraction of zeros asked of it (``sparsity``; N:M: 1 - N/M)."""

    kind: str  # "unstructured" | "block" | "n:m"
    rows: int = 1  # block: R output units
    cols: int = 1  # block: C consecutive inputs
    n: int = 0  # N:M: at most n non-zero ...
    m: int = 0  # ... in each group of m consecutive inputs
    sparsity: float = 0.0

    def __str__(self) -> str:
        if self.kind == "block":
            return f"block:{self.rows}x{self.cols}"
        if self.kind == "n:m":
            return f"{self.n}:{self.m}"
        return "unstructured"

    @property
    def unit(self) -> int:
        """Weights zeroed together (N:M: a group); the achieved sparsity is within one unit."""
        return self.rows * self.cols if self.kind == "block" else self.m if self.kind == "n:m" else 1

    def with_sparsity(self, sparsity: float) -> Pattern:
        return Pattern(self.kind, self.rows, self.cols, self.n, self.m, float(sparsity))

    def describe(self) -> str:
        """One line for a report."""
        if self.kind == "block":
            return (f"blocks of {self.rows} output row{'s' if self.rows > 1 else ''} x {self.cols} consecutive "
                    f"input{'s' if self.cols > 1 else ''} of each [out, in] weight matrix zeroed together")  # fmt: skip
        if self.kind == "n:m":
            return f"at most {self.n} non-zero weights in every {self.m} consecutive inputs of each output row"
        return "the smallest weights of each tensor, anywhere"


UNSTRUCTURED = Pattern("unstructured")


def structure(text: str, flag: str = "--prune-pattern") -> Pattern:
    """The pattern ``text`` names, at sparsity 0 (N:M: 1 - N/M); an error naming ``flag`` and the
    accepted forms if it is none of them."""
    t = str(text).strip().lower()
    if t == "unstructured":
        return UNSTRUCTURED
    b = re.fullmatch(r"block:(\d+)x(\d+)", t)
    if b and int(b[1]) >= 1 and int(b[2]) >= 1:
        return Pattern("block", rows=int(b[1]), cols=int(b[2]))
    nm = re.fullmatch(r"(\d+):(\d+)", t)
    if nm and 0 < int(nm[1]) < int(nm[2]):
        return Pattern("n:m", n=int(nm[1]), m=int(nm[2]), sparsity=1.0 - int(nm[1]) / int(nm[2]))
    raise InputError(f"{flag} {text}: give {ACCEPTED}")


def parse_pattern(text: str, prune: float | None = None, flag: str = "--prune-pattern") -> Pattern:
    """``text`` (unstructured, block:RxC, N:M) with the sparsity ``prune`` (the --prune fraction;
    None: not given). N:M fixes the sparsity at 1 - N/M: ``prune`` may be left out, and any other
    value is an error; block:RxC needs it."""
    p = structure(text, flag)
    if p.kind == "n:m":
        if prune is not None and abs(prune - p.sparsity) > 1e-9:
            raise InputError(f"--prune {prune:g} with {flag} {text}: N:M fixes the sparsity at 1 - N/M = "
                             f"{p.sparsity:g}; leave --prune out or give --prune {p.sparsity:g}")  # fmt: skip
        return p
    if p.kind == "block" and not prune:
        raise InputError(f"{flag} {text}: give --prune P too, the fraction of weights to zero (e.g. --prune 0.75)")
    return p.with_sparsity(prune or 0.0)


# ------------------------------------------------------------------------------------- layouts


@dataclass(frozen=True)
class Layout:
    """How a stored weight tensor maps to the [out, in] view: ``perm`` orders its axes as
    (output axes, then input axes in the order the kernel reads them); the first ``rows`` axes
    after ``perm`` form the output units, the rest the inputs."""

    name: str
    perm: tuple[int, ...]
    rows: int = 1

    def to_oi(self, w: np.ndarray) -> np.ndarray:
        t = np.transpose(np.asarray(w), self.perm)
        return t.reshape(int(np.prod(t.shape[: self.rows], dtype=np.int64)), -1)

    def from_oi(self, a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """The inverse of ``to_oi``: an [out, in] array back in the layout of a tensor ``shape``."""
        return np.transpose(np.asarray(a).reshape([shape[p] for p in self.perm]), np.argsort(self.perm))


def layout(kind: str, ndim: int) -> Layout:
    """The layout of a weight tensor of ``ndim`` dimensions stored as ``kind``:

    - ``oi``: [out, in] or [out, kh, kw, in] (TFLite FULLY_CONNECTED, CONV_2D's OHWI; ONNX Gemm with transB);
    - ``keras``: [in, out] (Dense, LSTM kernels, ONNX MatMul) or [..., in, out] (Keras convolutions);
    - ``keras_depthwise``: [kh, kw, in, multiplier] (output channel in * multiplier + m, as TFLite's);
    - ``onnx_conv``: [out, in, kh, kw] (ONNX Conv; TFLite's OHWI order once viewed);
    - ``onnx_conv_transpose``: [in, out, kh, kw]."""
    rest = tuple(range(ndim))
    if kind == "oi":
        return Layout(kind, rest)
    if kind == "keras":
        return Layout(kind, (ndim - 1, *rest[:-1]))
    if kind == "keras_depthwise" and ndim >= 3:
        return Layout(kind, (ndim - 2, ndim - 1, *rest[:-2]), rows=2)
    if kind == "onnx_conv":
        return Layout(kind, (0, *rest[2:], 1))
    if kind == "onnx_conv_transpose":
        return Layout(kind, (1, *rest[2:], 0))
    raise ValueError(f"no weight layout '{kind}' for {ndim} dimensions")


# --------------------------------------------------------------------------------------- masks


def _grid(shape: tuple[int, int], r: int, c: int) -> tuple[int, int]:
    return -(-shape[0] // r), -(-shape[1] // c)


def block_sums(a_oi: np.ndarray, r: int, c: int) -> tuple[np.ndarray, np.ndarray]:
    """(sum of ``a_oi`` over each RxC block, weights in each block): [ceil(O/R), ceil(I/C)] each."""
    br, bc = _grid(a_oi.shape, r, c)
    padded = np.zeros((br * r, bc * c), np.float64)
    padded[: a_oi.shape[0], : a_oi.shape[1]] = a_oi
    counts = np.zeros_like(padded)
    counts[: a_oi.shape[0], : a_oi.shape[1]] = 1
    return padded.reshape(br, r, bc, c).sum((1, 3)), counts.reshape(br, r, bc, c).sum((1, 3))


def _expand(blocks: np.ndarray, r: int, c: int, shape: tuple[int, int]) -> np.ndarray:
    return np.repeat(np.repeat(blocks, r, 0), c, 1)[: shape[0], : shape[1]]


def _unstructured_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    k = int(round(sparsity * w.size))
    keep = np.ones(w.size, bool)
    if k:
        keep[np.argsort(np.abs(w), axis=None, kind="stable")[:k]] = False
    return keep.reshape(w.shape)


def _block_mask(w_oi: np.ndarray, r: int, c: int, sparsity: float) -> np.ndarray:
    sums, counts = block_sums(np.abs(w_oi), r, c)
    order = np.argsort((sums / counts).ravel(), kind="stable")  # lowest mean magnitude first
    zeroed = np.concatenate([[0], np.cumsum(counts.ravel()[order])])  # weights zeroed by the first k blocks
    k = int(np.argmin(np.abs(zeroed - sparsity * w_oi.size)))
    keep = np.ones(sums.size, bool)
    keep[order[:k]] = False
    return _expand(keep.reshape(sums.shape), r, c, w_oi.shape)


def _n_of_m_mask(w_oi: np.ndarray, n: int, m: int) -> np.ndarray:
    o, i = w_oi.shape
    groups = -(-i // m)
    a = np.full((o, groups * m), -1.0)  # padding ranks below every weight
    a[:, :i] = np.abs(w_oi)
    a = a.reshape(o, groups, m)
    top = np.argsort(-a, axis=-1, kind="stable")[..., :n]  # the n largest of each group (first on ties)
    keep = np.zeros(a.shape, bool)
    np.put_along_axis(keep, top, True, axis=-1)
    return keep.reshape(o, groups * m)[:, :i]


def mask_oi(w_oi: np.ndarray, pattern: Pattern, sparsity: float | None = None) -> np.ndarray:
    """The weights of an [out, in] matrix that ``pattern`` keeps (True) at ``sparsity`` (default:
    the pattern's; N:M ignores it) by magnitude: see the module's definitions."""
    w_oi = np.asarray(w_oi)
    if w_oi.ndim != 2:
        raise ValueError(f"an [out, in] matrix, not shape {w_oi.shape}")
    s = pattern.sparsity if sparsity is None else sparsity
    if pattern.kind == "n:m":
        return _n_of_m_mask(w_oi, pattern.n, pattern.m)
    if w_oi.size == 0 or s <= 0:
        return np.ones(w_oi.shape, bool)
    if pattern.kind == "block":
        return _block_mask(w_oi, pattern.rows, pattern.cols, s)
    return _unstructured_mask(w_oi, s)


def mask(w: np.ndarray, pattern: Pattern, lay: Layout, sparsity: float | None = None) -> np.ndarray:
    """``mask_oi`` for a tensor stored in layout ``lay``, returned in that layout."""
    w = np.asarray(w)
    return lay.from_oi(mask_oi(lay.to_oi(w), pattern, sparsity), w.shape)


# ---------------------------------------------------------------------------------------- check


def zero_block_fraction(w_oi: np.ndarray, r: int, c: int) -> float:
    """The fraction of the weights of an [out, in] matrix that lie in all-zero RxC blocks."""
    w_oi = np.asarray(w_oi)
    if w_oi.size == 0:
        return 0.0
    nonzero, counts = block_sums(w_oi != 0, r, c)
    return float(counts[nonzero == 0].sum() / w_oi.size)


def max_nonzeros_per_group(w_oi: np.ndarray, m: int) -> int:
    """The most non-zero weights in a group of ``m`` consecutive inputs of one row."""
    w_oi = np.asarray(w_oi)
    if w_oi.size == 0:
        return 0
    nonzero, _ = block_sums(w_oi != 0, 1, m)
    return int(nonzero.max())


def pattern_holds(w_oi: np.ndarray, pattern: Pattern | str) -> bool:
    """Whether an [out, in] weight matrix follows ``pattern`` (a string: its structure alone, at
    sparsity 0). N:M: no group of M consecutive inputs has more than N non-zeros. block:RxC: the
    all-zero RxC blocks cover the pattern's sparsity of the weights, to within one block.
    unstructured: the zeros reach the pattern's sparsity, to within one weight."""
    if isinstance(pattern, str):
        pattern = structure(pattern)
    w_oi = np.asarray(w_oi)
    if w_oi.ndim != 2:
        raise ValueError(f"an [out, in] matrix, not shape {w_oi.shape}")
    if pattern.kind == "n:m":
        return max_nonzeros_per_group(w_oi, pattern.m) <= pattern.n
    need = pattern.sparsity * w_oi.size - pattern.unit - 1e-9
    if pattern.kind == "block":
        return zero_block_fraction(w_oi, pattern.rows, pattern.cols) * w_oi.size >= need
    return int((w_oi == 0).sum()) >= need


def sparsity_of(w: np.ndarray) -> float:
    w = np.asarray(w)
    return float((w == 0).mean()) if w.size else 0.0


# ------------------------------------------------------------------------------ int8 weights

CHECKED_OPS = ("FULLY_CONNECTED", "CONV_2D")


def int8_check(path, pattern: Pattern, shapes: tuple = ()) -> dict:
    """Read the quantized model at ``path`` back (edgeneuro's front ends: a .tflite or a QDQ .onnx)
    and say, for each FULLY_CONNECTED and CONV_2D with constant weights, whether ``pattern`` holds
    in its int8 weights viewed as [out, in] (a weight is zero where it equals its zero point)."""
    from edgeneuro import frontends
    from edgeneuro.errors import EdgeNeuroError

    out: dict = {"pattern": str(pattern), "target": pattern.sparsity, "holds": None, "layers": []}
    try:
        graph = frontends.load(path, dict(shapes))
    except EdgeNeuroError as e:
        out["note"] = f"not checked: {str(e).splitlines()[0]}"
        return out
    for op in graph.ops:
        if op.kind not in CHECKED_OPS or len(op.inputs) < 2:
            continue
        t = graph.t(op.inputs[1])
        if t.data is None:
            continue
        q = np.asarray(t.data)
        if t.quant is not None and any(t.quant.zero_point):  # zero is the zero point (asymmetric weights)
            zp = np.asarray(t.quant.zero_point)
            shape = [1] * q.ndim
            if len(zp) > 1:
                shape[t.quant.axis] = len(zp)
            q = (q.astype(np.int64) - zp.reshape(shape)).astype(np.int64)
        w = q.reshape(q.shape[0], -1)
        out["layers"].append({"layer": op.label(), "weights": t.name, "dtype": t.dtype, "shape_oi": list(w.shape),
                              "sparsity": sparsity_of(w), "holds": pattern_holds(w, pattern)})  # fmt: skip
    if out["layers"]:
        out["holds"] = all(layer["holds"] for layer in out["layers"])
    else:
        out["note"] = "no FULLY_CONNECTED or CONV_2D layer with constant weights"
    return out
