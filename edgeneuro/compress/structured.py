"""Structured (channel) pruning: the hidden Conv1D filters and Dense units with the smallest L1
norms are removed and the model is rebuilt smaller, so the layers really shrink (fewer MACs, less
flash and RAM); it is fine-tuned afterwards. For the LSTM family, the units whose four gates have
the smallest L1 norms of input and recurrent weights go, with their rows of the recurrent weights
and of the classifier. For the DNN, CNN and LSTM families of edgeneuro.models."""

from __future__ import annotations

import numpy as np

from edgeneuro.errors import InputError


def _keep(kernel: np.ndarray, fraction: float) -> np.ndarray:
    """Indices of the output channels (last axis) to keep: the largest L1 norms, in order."""
    norms = np.abs(kernel).reshape(-1, kernel.shape[-1]).sum(axis=0)
    n = max(1, int(round(kernel.shape[-1] * (1 - fraction))))
    return np.sort(np.argsort(-norms, kind="stable")[:n])


def shrink(model, family: str, fraction: float):
    """A smaller copy of ``model`` without the ``fraction`` of each hidden layer's channels that
    have the smallest L1 norms (the output layer keeps every class). Not yet fine-tuned."""
    from edgeneuro.models.cnn import build_cnn1d
    from edgeneuro.models.dnn import build_dnn

    if family == "lstm":
        return _shrink_lstm(model, fraction)
    if family not in ("dnn", "cnn"):
        raise InputError(f"structured pruning of the {family} family is not supported (dnn, cnn and lstm are)")
    weighted = [layer for layer in model.layers if layer.get_weights()]
    keeps = [_keep(layer.get_weights()[0], fraction) for layer in weighted[:-1]]
    samples, channels = model.input_shape[1:]
    classes = weighted[-1].get_weights()[0].shape[-1]
    sizes = tuple(len(k) for k in keeps)
    small = (build_cnn1d(samples, channels, classes, filters=sizes) if family == "cnn"
             else build_dnn(samples, channels, classes, units=sizes))  # fmt: skip
    previous = None  # the kept output channels of the previous weighted layer feed this one
    for i, (old, new) in enumerate(zip(weighted, [la for la in small.layers if la.get_weights()], strict=True)):
        kernel, bias = old.get_weights()
        if previous is not None:
            kernel = kernel[:, previous, :] if kernel.ndim == 3 else kernel[previous, :]  # Conv1D [k, in, out]
        if i < len(keeps):
            kernel, bias = kernel[..., keeps[i]], bias[keeps[i]]
            previous = keeps[i]
        new.set_weights([kernel, bias])
    return small


def _shrink_lstm(model, fraction: float):
    from edgeneuro.models.lstm import build_lstm

    lstm, dense = [layer for layer in model.layers if layer.get_weights()]
    kernel, recurrent, bias = lstm.get_weights()  # [in, 4u], [u, 4u], [4u]; gates i, f, c, o
    units = recurrent.shape[0]
    # column g * units + j of either matrix feeds gate g of unit j: rows of 4 gates x units
    keep = _keep(np.concatenate([kernel, recurrent]).reshape(-1, units), fraction)
    cols = np.concatenate([g * units + keep for g in range(4)])
    samples, channels = model.input_shape[1:]
    classes = dense.get_weights()[0].shape[-1]
    small = build_lstm(samples, channels, classes, units=len(keep))
    new_lstm, new_dense = [layer for layer in small.layers if layer.get_weights()]
    new_lstm.set_weights([kernel[:, cols], recurrent[keep][:, cols], bias[cols]])
    d_kernel, d_bias = dense.get_weights()
    new_dense.set_weights([d_kernel[keep], d_bias])
    return small
