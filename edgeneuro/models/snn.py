"""A spiking seizure detector: leaky integrate-and-fire neurons trained with surrogate gradients in
TensorFlow, exported to NIR (the Neuromorphic Intermediate Representation) for edgeneuro's NIR
front end, which compiles it to fixed-point kernels for the chip.

**Input.** A window [samples, channels] becomes ``steps = samples / pool`` time steps of
``2 * channels`` features: per channel, the mean and the mean absolute value of ``pool``
consecutive samples (the signal and its rectified envelope). ``dt = pool / fs``.

**Network** (one time step, the NIR front end's forward-Euler rule, ``a = dt / tau``):
``v1 += a1 * (-v1 + W1 x + b1)``; spikes ``z = v1 > 1``, then ``v1 = 0`` where ``z``;
``v2 += a2 * (-v2 + W2 z + b2)`` (leaky integrators, no spikes). The class is the argmax of ``v2``
averaged over the window's steps. In NIR: Input -> Affine -> LIF(tau1, r=1, v_leak=0,
v_threshold=1, v_reset=0) -> Affine -> LI(tau2, r=1, v_leak=0) -> Output.

**Training.** Back-propagation through time; the spike's derivative is replaced by the fast
sigmoid surrogate ``1 / (1 + k |v - 1|)^2`` (Zenke & Ganguli's SuperSpike), the reset is not
differentiated. Balanced class weights, Adam."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TAU1_STEPS = 4.0  # tau of the hidden LIF neurons, in time steps (a1 = 1/4)
TAU2_STEPS = 8.0  # tau of the output integrators, in time steps (a2 = 1/8)
SURROGATE_K = 10.0


def features(x: np.ndarray, pool: int) -> np.ndarray:
    """Windows [N, samples, channels] -> [N, steps, 2 * channels] float32: per channel the mean and
    the mean |x| over ``pool`` samples (trailing samples that do not fill a step are dropped)."""
    x = np.asarray(x, np.float32)
    n, samples, channels = x.shape
    steps = samples // pool
    blocks = x[:, : steps * pool].reshape(n, steps, pool, channels)
    return np.concatenate([blocks.mean(axis=2), np.abs(blocks).mean(axis=2)], axis=2).astype(np.float32)


def _forward(tf, params, x, a1: float, a2: float):
    """Logits [B, classes] of float windows ``x`` [B, T, F], and the hidden spike rate."""

    @tf.custom_gradient
    def spike(u):
        def grad(dy):
            return dy / tf.square(1.0 + SURROGATE_K * tf.abs(u))

        return tf.cast(u > 0.0, tf.float32), grad

    w1, b1, w2, b2 = params
    batch = tf.shape(x)[0]
    v1 = tf.zeros([batch, tf.shape(w1)[1]])
    v2 = tf.zeros([batch, tf.shape(w2)[1]])
    acc = tf.zeros_like(v2)
    spikes = tf.zeros([])
    steps = x.shape[1]
    for t in range(steps):
        v1 = v1 + a1 * (-v1 + tf.matmul(x[:, t], w1) + b1)
        z = spike(v1 - 1.0)
        v1 = v1 * (1.0 - tf.stop_gradient(z))
        v2 = v2 + a2 * (-v2 + tf.matmul(z, w2) + b2)
        acc = acc + v2
        spikes = spikes + tf.reduce_mean(z)
    return acc / steps, spikes / steps


def train_snn(x: np.ndarray, y: np.ndarray, classes: int, hidden: int = 32, epochs: int = 15, seed: int = 0,
              class_weight: dict[int, float] | None = None, verbose: int = 0) -> dict[str, np.ndarray]:  # fmt: skip
    """Weights of the network for features ``x`` [N, T, F] and labels ``y``."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    tf.random.set_seed(seed)
    f = x.shape[2]
    params = [
        tf.Variable(rng.normal(0, 1.5 / np.sqrt(f), (f, hidden)).astype(np.float32)),
        tf.Variable(np.full(hidden, 0.2, np.float32)),
        tf.Variable(rng.normal(0, 1.0 / np.sqrt(hidden), (hidden, classes)).astype(np.float32)),
        tf.Variable(np.zeros(classes, np.float32)),
    ]
    weights = np.array([(class_weight or {}).get(c, 1.0) for c in range(classes)], np.float32)
    opt = tf.keras.optimizers.Adam(3e-3)
    a1, a2 = 1.0 / TAU1_STEPS, 1.0 / TAU2_STEPS

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            logits, rate = _forward(tf, params, xb, a1, a2)
            loss = tf.keras.losses.sparse_categorical_crossentropy(yb, logits * 4.0, from_logits=True)
            loss = tf.reduce_mean(loss * tf.gather(weights, yb))
        opt.apply_gradients(zip(tape.gradient(loss, params), params, strict=True))
        return loss, rate

    for epoch in range(epochs):
        order = rng.permutation(len(y))
        losses = []
        for i in range(0, len(order), 64):
            idx = order[i : i + 64]
            loss, rate = step(tf.constant(x[idx]), tf.constant(y[idx].astype(np.int32)))
            losses.append(float(loss))
        if verbose:
            print(f"snn epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f}, hidden spike rate {float(rate):.3f}")
    return {"w1": params[0].numpy(), "b1": params[1].numpy(), "w2": params[2].numpy(), "b2": params[3].numpy()}


def predict_float(params: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, float]:
    """Classes of features ``x`` with the float network (TensorFlow), and the hidden spike rate."""
    import tensorflow as tf

    p = [tf.constant(params[k]) for k in ("w1", "b1", "w2", "b2")]
    logits, rate = _forward(tf, p, tf.constant(x), 1.0 / TAU1_STEPS, 1.0 / TAU2_STEPS)
    return logits.numpy().argmax(1), float(rate)


def to_nir(params: dict[str, np.ndarray], dt: float, spikes_out: bool = False):
    """The network as a NIR graph (continuous-time parameters for time step ``dt``). With
    ``spikes_out`` the hidden layer's spikes are a second output (to measure spike rates)."""
    import nir

    f, hidden = params["w1"].shape
    classes = params["w2"].shape[1]
    ones = np.ones(hidden)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([f])}),
        "fc1": nir.Affine(weight=params["w1"].T.astype(np.float64), bias=params["b1"].astype(np.float64)),
        "lif1": nir.LIF(tau=ones * TAU1_STEPS * dt, r=ones, v_leak=0 * ones, v_threshold=ones, v_reset=0 * ones),
        "fc2": nir.Affine(weight=params["w2"].T.astype(np.float64), bias=params["b2"].astype(np.float64)),
        "li2": nir.LI(tau=np.ones(classes) * TAU2_STEPS * dt, r=np.ones(classes), v_leak=np.zeros(classes)),
        "output": nir.Output(output_type={"output": np.array([classes])}),
    }
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "li2"), ("li2", "output")]
    if spikes_out:
        nodes["spikes"] = nir.Output(output_type={"output": np.array([hidden])})
        edges.append(("lif1", "spikes"))
    return nir.NIRGraph(nodes=nodes, edges=edges)


def save(params: dict[str, np.ndarray], dt: float, path: Path) -> Path:
    import nir

    nir.write(str(path), to_nir(params, dt))
    return Path(path)


def decide(outputs: np.ndarray) -> np.ndarray:
    """Classes from the output integrators' values [N, T, classes]: argmax of the mean over T."""
    return np.asarray(outputs, np.float64).mean(axis=1).argmax(axis=1)
