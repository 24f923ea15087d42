"""`compress --prune-pattern unstructured|block:RxC|N:M`: the definitions as properties of the masks
and of ``pattern_holds`` (numpy, fast), and compress of small tf_keras, Keras 3, ONNX and
`edgeneuro train` models whose int8 weights, read back from the written file, follow the pattern."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeneuro.compress import patterns as P
from edgeneuro.compress.anymodel import Weight, tfmot_fits, tfmot_options
from edgeneuro.errors import InputError

# ------------------------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    "text, prune, want",
    [
        ("unstructured", None, ("unstructured", 0.0)),
        ("unstructured", 0.5, ("unstructured", 0.5)),
        ("block:1x4", 0.75, ("block:1x4", 0.75)),
        ("BLOCK:4x1", 0.5, ("block:4x1", 0.5)),
        ("2:4", None, ("2:4", 0.5)),
        ("2:4", 0.5, ("2:4", 0.5)),
        ("1:8", None, ("1:8", 0.875)),
    ],
)
def test_parse_pattern(text, prune, want):
    p = P.parse_pattern(text, prune)
    assert (str(p), p.sparsity) == want
    assert P.parse_pattern(str(p), p.sparsity if p.kind != "n:m" else None) == p


@pytest.mark.parametrize("text", ["block:0x4", "block:1x0", "block:1x", "block:1*4", "3:2", "2:2", "0:4", "foo", ""])
def test_malformed_pattern_names_the_flag_and_the_accepted_forms(text):
    with pytest.raises(InputError) as e:
        P.parse_pattern(text, 0.5)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(f"--prune-pattern {text}: give unstructured, block:RxC")
    assert "N:M" in msg and "2:4" in msg


def test_prune_must_agree_with_n_of_m_and_block_needs_it():
    with pytest.raises(InputError, match=r"--prune 0.8 with --prune-pattern 2:4: .* 1 - N/M = 0.5"):
        P.parse_pattern("2:4", 0.8)
    with pytest.raises(InputError, match=r"--prune-pattern block:1x4: give --prune P"):
        P.parse_pattern("block:1x4", None)


# ------------------------------------------------------------------------------------ layouts


def test_keras_layouts_view_kernels_as_tflite_does():
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(5, 3))  # [in, out]
    np.testing.assert_array_equal(P.layout("keras", 2).to_oi(dense), dense.T)
    conv = rng.normal(size=(2, 3, 4, 6))  # [kh, kw, in, out] -> OHWI [out, kh, kw, in]
    np.testing.assert_array_equal(P.layout("keras", 4).to_oi(conv), conv.transpose(3, 0, 1, 2).reshape(6, -1))
    conv1d = rng.normal(size=(3, 4, 6))  # [k, in, out] -> CONV_2D [out, 1, k, in]
    np.testing.assert_array_equal(P.layout("keras", 3).to_oi(conv1d), conv1d.transpose(2, 0, 1).reshape(6, -1))
    dw = rng.normal(size=(3, 3, 4, 2))  # [kh, kw, in, mult] -> TFLite [1, kh, kw, in * mult]
    tfl = dw.reshape(3, 3, 8)
    np.testing.assert_array_equal(P.layout("keras_depthwise", 4).to_oi(dw), tfl.reshape(9, 8).T)
    onnx_conv = rng.normal(size=(6, 4, 2, 3))  # OIHW -> OHWI
    ohwi = onnx_conv.transpose(0, 2, 3, 1).reshape(6, -1)
    np.testing.assert_array_equal(P.layout("onnx_conv", 4).to_oi(onnx_conv), ohwi)


LAYOUTS = st.sampled_from([("keras", 2), ("keras", 3), ("keras", 4), ("keras_depthwise", 4), ("onnx_conv", 3),
                           ("onnx_conv", 4), ("onnx_conv_transpose", 4), ("oi", 2), ("oi", 4)])  # fmt: skip


@given(LAYOUTS, st.data())
def test_layout_round_trip(kind_ndim, data):
    kind, ndim = kind_ndim
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim)))
    w = np.arange(np.prod(shape)).reshape(shape)
    lay = P.layout(kind, ndim)
    oi = lay.to_oi(w)
    assert oi.ndim == 2 and oi.size == w.size
    np.testing.assert_array_equal(lay.from_oi(oi, shape), w)


# -------------------------------------------------------------------------------------- masks


@st.composite
def matrices(draw, max_side: int = 24):
    o, i = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 2**16))
    w = np.random.default_rng(seed).normal(size=(o, i)).astype(np.float32)
    if draw(st.booleans()):  # ties and zeros already there
        w = np.round(w * 2) / 2
    return w


def blocks(a: np.ndarray, r: int, c: int):
    for i in range(0, a.shape[0], r):
        for j in range(0, a.shape[1], c):
            yield a[i : i + r, j : j + c]


@given(matrices(), st.integers(1, 5), st.integers(1, 8), st.floats(0.0, 0.95))
def test_block_mask_zeroes_whole_blocks_to_the_requested_sparsity(w, r, c, sparsity):
    p = P.Pattern("block", rows=r, cols=c, sparsity=sparsity)
    keep = P.mask_oi(w, p)
    assert keep.shape == w.shape and keep.dtype == bool
    for b in blocks(keep, r, c):  # every block, partial edge blocks too, is kept or zeroed as a whole
        assert b.all() or not b.any()
    assert abs((1 - keep.mean()) - sparsity) <= r * c / w.size + 1e-9  # within one block
    pruned = w * keep
    assert P.pattern_holds(pruned, p)
    zeroed = [np.abs(b).mean() for b, k in zip(blocks(w, r, c), blocks(keep, r, c), strict=True) if not k.any()]
    kept = [np.abs(b).mean() for b, k in zip(blocks(w, r, c), blocks(keep, r, c), strict=True) if k.all()]
    if zeroed and kept:  # magnitude: the zeroed blocks are the weakest by mean |w|
        assert max(zeroed) <= min(kept) + 1e-6


@given(matrices(), st.integers(1, 7).flatmap(lambda m: st.tuples(st.integers(1, m), st.just(m + 1))))
def test_n_of_m_mask_keeps_the_n_largest_of_every_group(w, nm):
    n, m = nm
    p = P.structure(f"{n}:{m}")
    keep = P.mask_oi(w, p)
    for row_w, row_k in zip(w, keep, strict=True):
        for j in range(0, len(row_w), m):
            g, k = np.abs(row_w[j : j + m]), row_k[j : j + m]
            assert k.sum() == min(n, len(g))  # partial last group: at most N, all of it if shorter
            if (~k).any():
                assert g[~k].max() <= g[k].min()
    assert P.pattern_holds(w * keep, p)
    if w.shape[1] % m == 0:
        assert 1 - keep.mean() == pytest.approx(1 - n / m)


@given(matrices(), st.floats(0.0, 0.99))
def test_unstructured_mask_zeroes_exactly_the_smallest(w, sparsity):
    p = P.Pattern("unstructured", sparsity=sparsity)
    keep = P.mask_oi(w, p)
    assert (~keep).sum() == int(round(sparsity * w.size))
    if (~keep).any() and keep.any():
        assert np.abs(w[~keep]).max() <= np.abs(w[keep]).min()
    assert P.pattern_holds(w * keep, p)


@given(LAYOUTS, st.data())
def test_mask_in_a_stored_layout_is_the_oi_mask(kind_ndim, data):
    kind, ndim = kind_ndim
    shape = tuple(data.draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    w = np.random.default_rng(data.draw(st.integers(0, 999))).normal(size=shape)
    p = data.draw(st.sampled_from([P.Pattern("block", rows=2, cols=3, sparsity=0.5), P.structure("2:4")]))
    lay = P.layout(kind, ndim)
    np.testing.assert_array_equal(lay.to_oi(P.mask(w, p, lay)), P.mask_oi(lay.to_oi(w), p))


# -------------------------------------------------------------------------------------- check


@given(matrices(), st.integers(1, 6).flatmap(lambda m: st.tuples(st.integers(1, m), st.just(m + 1))))
def test_pattern_holds_is_the_group_count(w, nm):
    n, m = nm
    counts = [np.count_nonzero(row[j : j + m]) for row in w for j in range(0, len(row), m)]
    assert P.pattern_holds(w, f"{n}:{m}") == (max(counts) <= n)


def test_pattern_holds_counts_whole_zero_blocks_and_int8_only_adds_zeros():
    w = np.ones((4, 8))
    w[:, :4] = 0  # half the weights in all-zero 1x4 blocks
    assert P.pattern_holds(w, P.Pattern("block", rows=1, cols=4, sparsity=0.5))
    assert P.pattern_holds(w, P.Pattern("block", rows=4, cols=4, sparsity=0.5))
    scattered = np.tile([0.0, 1.0], (4, 4))  # half zeros, but no zero 1x4 block
    assert not P.pattern_holds(scattered, P.Pattern("block", rows=1, cols=4, sparsity=0.5))
    assert P.pattern_holds(scattered, P.Pattern("unstructured", sparsity=0.5))
    assert P.pattern_holds(scattered, "2:4") and not P.pattern_holds(np.ones((2, 4)), "2:4")
    # symmetric int8 weights keep 0.0 at 0: quantizing a pattern keeps it
    rng = np.random.default_rng(1)
    f = rng.normal(size=(8, 20))
    f *= P.mask_oi(f, P.Pattern("block", rows=2, cols=4, sparsity=0.6))
    q = np.clip(np.round(f / (np.abs(f).max(1, keepdims=True) / 127)), -127, 127).astype(np.int8)
    assert P.pattern_holds(q, P.Pattern("block", rows=2, cols=4, sparsity=0.6))


def test_tfmot_takes_the_patterns_it_makes_as_defined():
    def weight(shape, kind="keras"):
        return Weight("w", np.zeros(shape), P.layout(kind, len(shape)))

    block, nm = P.Pattern("block", rows=1, cols=4, sparsity=0.5), P.structure("2:4")
    assert tfmot_options(block) == {"block_size": (4, 1), "block_pooling_type": "AVG"}  # Keras [in, out]
    assert tfmot_options(nm) == {"sparsity_m_by_n": (2, 4)}  # tfmot counts the zeros
    assert tfmot_options(P.structure("1:4")) == {"sparsity_m_by_n": (3, 4)}
    assert tfmot_fits([weight((16, 8))], block) and tfmot_fits([weight((16, 8))], nm)
    assert not tfmot_fits([weight((4, 8))], block)  # one block along the inputs: tfmot's pooling fails
    assert not tfmot_fits([weight((3, 4, 8))], block) and not tfmot_fits([weight((3, 4, 8))], nm)  # Conv1D
    assert tfmot_fits([weight((3, 3, 8, 4))], nm) and not tfmot_fits([weight((3, 3, 6, 4))], nm)  # C_in % M
    assert not tfmot_fits([weight((3, 3, 8, 1), "keras_depthwise")], nm)


# ------------------------------------------------------------------------- compress, end to end

SHAPE = (32, 3)


def int8_layers(path: Path) -> list[tuple[str, np.ndarray]]:
    """(op, int8 weights as [out, in]) of each FULLY_CONNECTED and CONV_2D, read with TensorFlow
    Lite's interpreter (not edgeneuro's front end, which the report's own check uses)."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(path))
    interp.allocate_tensors()
    out = []
    for op in interp._get_ops_details():
        if op["op_name"] in ("FULLY_CONNECTED", "CONV_2D"):
            d = interp._get_tensor_details(op["inputs"][1], 0)
            w = interp.get_tensor(op["inputs"][1])
            assert d["dtype"] == np.int8 and not d["quantization_parameters"]["zero_points"].any()
            out.append((op["op_name"], w.reshape(w.shape[0], -1)))
    return out


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """A Conv1D and a Dense classifier, each written by Keras 3 and by tf_keras, trained briefly."""
    import keras
    import tf_keras

    import edgeneuro.models  # noqa: F401  (tf_keras for tf.keras, before TensorFlow loads)

    d = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 200)
    x = rng.normal(size=(200, *SHAPE)).astype(np.float32)
    x[np.arange(200), :, y] += 1.0
    np.save(d / "x.npy", x)
    np.save(d / "y.npy", y)
    np.save(d / "cal.npy", x[:32])

    def build(k, conv: bool):
        k.utils.set_random_seed(0)
        first = [k.layers.Conv1D(8, 3, activation="relu"), k.layers.GlobalAveragePooling1D()] if conv else [
            k.layers.Flatten(), k.layers.Dense(24, activation="relu")]  # fmt: skip
        m = k.Sequential([k.Input(SHAPE), *first, k.layers.Dense(16, activation="relu"),
                          k.layers.Dense(3, activation="softmax")])  # fmt: skip
        m.compile(optimizer=k.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        m.fit(x, y, epochs=4, batch_size=32, verbose=0)
        return m

    build(keras, True).save(d / "k3_conv.keras")
    build(tf_keras, True).save(d / "tk_conv.h5")
    build(tf_keras, False).save(d / "tk_dense.h5")
    return {p.name: p for p in d.iterdir()}


def run(capsys, *args: str) -> dict:
    from edgeneuro.cli import main

    code = main(["compress", *args, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def check_int8(r: dict, out: Path, pattern: P.Pattern) -> None:
    layers = int8_layers(out)
    assert layers
    for op, w in layers:
        assert P.pattern_holds(w, pattern), (op, w.shape)
        if pattern.kind == "n:m" and w.shape[1] % pattern.m == 0:
            assert (w == 0).mean() >= 1 - pattern.n / pattern.m
    check = r["int8_pattern"]
    assert check["pattern"] == str(pattern) and check["holds"] is True
    assert [x["shape_oi"] for x in check["layers"]] == [list(w.shape) for _, w in layers]


CASES = {  # id: (model, pattern args, fine-tune?, what prunes)
    "k3 conv block one-shot": ("k3_conv.keras", ["--prune", "0.75", "--prune-pattern", "block:1x4"], False, "one-shot"),
    "tk conv 2:4 one-shot": ("tk_conv.h5", ["--prune-pattern", "2:4"], False, "one-shot"),
    "k3 conv 2:4 fit": ("k3_conv.keras", ["--prune-pattern", "2:4"], True, "weight masks"),
    "tk conv block fit": ("tk_conv.h5", ["--prune", "0.75", "--prune-pattern", "block:1x4"], True, "weight masks"),
    "tk dense block fit": ("tk_dense.h5", ["--prune", "0.75", "--prune-pattern", "block:1x4"], True,
                           "with tensorflow-model-optimization (block_size=(4, 1)"),
    "tk dense 2:4 fit": ("tk_dense.h5", ["--prune", "0.5", "--prune-pattern", "2:4"], True,
                         "with tensorflow-model-optimization (sparsity_m_by_n=(2, 4)"),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_compress_any_model_with_a_pattern(case, models, capsys, tmp_path):
    name, args, fit, how = CASES[case]
    out = tmp_path / "m.tflite"
    data = ["--fit", str(models["x.npy"]), str(models["y.npy"]), "--epochs", "2"] if fit else [
        "--calibrate", str(models["cal.npy"])]  # fmt: skip
    r = run(capsys, str(models[name]), *args, *data, "-o", str(out))
    pattern = P.parse_pattern(args[-1], float(args[1]) if args[0] == "--prune" else None)
    p = r["pruning"]
    assert p["pattern"] == str(pattern) and p["target"] == pattern.sparsity and p["fine_tuned"] == fit
    assert how in p["method"]
    assert [s["step"] for s in r["steps"]] == ["float", f"pruned {pattern.sparsity:.0%} {pattern}", "int8"]
    for layer in p["layers"]:  # every weight tensor, as [out, in]
        assert layer["holds"], layer
    assert r["steps"][1]["sparsity"] >= pattern.sparsity - 0.1
    check_int8(r, out, pattern)
    if fit:
        assert r["steps"][-1]["accuracy"] > 0.6


@pytest.mark.slow
def test_the_printed_report_shows_the_pattern_per_layer(models, capsys, tmp_path):
    from edgeneuro.cli import main

    code = main(["compress", str(models["tk_conv.h5"]), "--prune-pattern", "2:4", "--calibrate",
                 str(models["cal.npy"]), "-o", str(tmp_path / "m.tflite")])  # fmt: skip
    text = capsys.readouterr().out
    assert code == 0
    assert "pruning to 50%, 2:4 (at most 2 non-zero weights in every 4 consecutive inputs" in text
    assert "pruned 50% 2:4" in text and "2:4 in the int8 weights: holds in every layer" in text
    assert "CONV_2D #" in text and "FULLY_CONNECTED #" in text


def test_onnx_model_with_a_pattern(capsys, tmp_path):
    from onnx_models import conv_gemm_classifier, float_model

    rng = np.random.default_rng(1)
    nodes, inits = conv_gemm_classifier(rng, 4)
    f = float_model(tmp_path / "net.onnx", nodes, inits, (1, 4, 8, 8), (1, 4))
    np.save(tmp_path / "x.npy", rng.normal(size=(16, 4, 8, 8)).astype(np.float32))
    out = tmp_path / "net.int8.onnx"
    r = run(capsys, str(f), "--prune-pattern", "2:4", "--calibrate", str(tmp_path / "x.npy"), "-o", str(out))
    assert r["pruning"]["pattern"] == "2:4" and all(layer["holds"] for layer in r["pruning"]["layers"])
    assert r["int8_pattern"]["holds"] is True
    assert [x["layer"].split()[0] for x in r["int8_pattern"]["layers"]] == ["CONV_2D", "FULLY_CONNECTED"]
    assert r["int8_pattern"]["layers"][0]["shape_oi"] == [8, 36]


@pytest.fixture(scope="module")
def eeg(tmp_path_factory) -> Path:
    from edgeneuro.data.synthetic import write_dataset

    data = tmp_path_factory.mktemp("eeg")
    write_dataset(data, subjects=2, recordings=1, seconds=300, seed=1)
    return data


@pytest.mark.slow
@pytest.mark.parametrize(
    "family, args, how",
    [
        ("dnn", ["--prune-pattern", "2:4"], "with tensorflow-model-optimization (sparsity_m_by_n=(2, 4)"),
        ("cnn", ["--prune", "0.75", "--prune-pattern", "block:1x4"], "as weight masks"),  # Conv1D: tfmot cannot
    ],
)
def test_a_trained_detector_compresses_with_a_pattern(family, args, how, eeg, tmp_path, capsys):
    """The meta.json path: a detector from `edgeneuro train`, pruned in a pattern while it is
    fine-tuned on its EEG, scored on its held-out subject."""
    from edgeneuro.cli import main
    from edgeneuro.train import train

    train(eeg, family, tmp_path / "det", epochs=2, verbose=0)
    out = tmp_path / "det" / "int8" / "model.tflite"
    code = main(["compress", str(tmp_path / "det" / "model.keras"), *args, "--epochs", "1", "-o", str(out)])
    text = capsys.readouterr().out
    assert code == 0
    r = json.loads((out.parent / "compress_report.json").read_text())
    pattern = P.parse_pattern(args[-1], float(args[1]) if args[0] == "--prune" else None)
    assert [s["step"] for s in r["steps"]] == ["float", f"pruned {pattern.sparsity:.0%} {pattern}", "int8"]
    assert r["pruning"]["pattern"] == str(pattern) and how in r["pruning"]["method"]
    assert all(layer["holds"] for layer in r["pruning"]["layers"])
    check_int8(r, out, pattern)
    assert f"{pattern} in the int8 weights: holds in every layer" in text
