"""Subgraphs inlined: a TFLite model's WHILE loops unrolled and its IF branches inlined, so the
rest of the compiler sees one graph without control flow, statically planned like any other.

* **WHILE** (what the converter emits for a Keras GRU or SimpleRNN that is not unrolled): the
  condition subgraph is evaluated at compile time on the loop variables that are constants (a step
  counter and its limit), and the body subgraph is copied once per iteration with the loop
  variables of the previous copy as its inputs. Constants in the body (the weights) are one
  tensor for all copies. A loop whose condition depends on the data cannot be unrolled and is
  refused, naming the operator.
* **IF**: a constant condition inlines the branch taken; a condition computed from the data
  inlines both branches and chooses each output with SELECT_V2, which is what TFLM's IF returns
  (the branch's bytes) at the cost of computing both.
* **Resource variables** (a Keras ``stateful=True`` RNN's state, a ``tf.Variable`` assigned in the
  call): each VAR_HANDLE's variable becomes a state tensor of the graph, kept between calls like a
  spiking network's membranes, so the graph becomes temporal (``run`` takes N sequences of T
  calls, each sequence from the reset state). CALL_ONCE's subgraph, which sets the variables
  first, is computed here; edgeneuro's reset sets state to zero, so a variable that starts at
  other values is refused. READ_VARIABLE and ASSIGN_VARIABLE become copies out of and into the
  state (edgeneuro/ops/variable.py); a variable the model never assigns is the constant it
  starts as.

Operators whose inputs are all constants are computed here as ``fold-constants`` does, since the
trip count of a loop is only known once its counter is.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from edgeneuro import ops
from edgeneuro.errors import UnsupportedOperator
from edgeneuro.ir import Graph, Op, Tensor
from edgeneuro.options import CompileOptions
from edgeneuro.passes.fold import fold_op

# Integer and bool operators on constants, computed here with numpy whatever the kernels take: a
# loop's counter and its condition are int32 scalars, which no int8 kernel needs to handle
COUNTER_OPS = {
    "ADD": np.add, "SUB": np.subtract, "MUL": np.multiply, "MINIMUM": np.minimum, "MAXIMUM": np.maximum,
    "LESS": np.less, "LESS_EQUAL": np.less_equal, "GREATER": np.greater, "GREATER_EQUAL": np.greater_equal,
    "EQUAL": np.equal, "NOT_EQUAL": np.not_equal,
    "LOGICAL_AND": np.logical_and, "LOGICAL_OR": np.logical_or, "LOGICAL_NOT": np.logical_not,
}  # fmt: skip
VARIABLE_OPS = ("VAR_HANDLE", "CALL_ONCE", "READ_VARIABLE", "ASSIGN_VARIABLE")
MAX_TRIPS = 10_000  # iterations of one WHILE
MAX_OPS = 200_000  # operators after inlining


class _Inliner:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.tensors: dict[str, Tensor] = dict(graph.tensors)
        self.ops: list[Op] = []
        self.alias: dict[str, str] = {}  # a control-flow operator's output -> the tensor that holds it
        self.shared: dict[tuple[int, str], str] = {}  # (subgraph, constant) -> its one copy
        self.fresh = 0
        self.handles: dict[str, tuple[str, str]] = {}  # VAR_HANDLE's output -> its variable
        self.variables: dict[tuple[str, str], str] = {}  # variable -> its state tensor
        self.initial: dict[tuple[str, str], np.ndarray] = {}  # what CALL_ONCE set
        self.in_call_once = False

    def refuse(self, op: Op, why: str) -> UnsupportedOperator:
        return UnsupportedOperator(self.graph.source, op.kind, op.index, why)

    def resolve(self, name: str) -> str:
        while name in self.alias:
            name = self.alias[name]
        return name

    def emit(self, op: Op) -> None:
        op = dataclasses.replace(op, inputs=tuple(self.resolve(n) if n else n for n in op.inputs))
        if op.kind in VARIABLE_OPS:
            self.variable(op)
        elif op.kind == "WHILE":
            self.unroll(op)
        elif op.kind == "IF":
            self.branch(op)
        elif not self.refine(op) and not self.fold(op):
            self.ops.append(op)
            if len(self.ops) > MAX_OPS:
                raise self.refuse(op, f"inlining its loops makes more than {MAX_OPS:,} operators")

    def variable(self, op: Op) -> None:
        if op.kind == "VAR_HANDLE":
            key = (_text(op.attrs.get("container")), _text(op.attrs.get("shared_name")) or op.outputs[0])
            self.handles[op.outputs[0]] = key
            return
        if op.kind == "CALL_ONCE":
            index, sub = self.subgraph(op, "init_subgraph_index")
            self.in_call_once, kept, self.ops = True, self.ops, []
            self.instantiate(op, index, sub, [], f"{op.kind}#{op.index}")
            left, self.ops, self.in_call_once = self.ops, kept, False
            if left:
                raise self.refuse(op, f"its subgraph computes {left[0].kind} from values known only at run time; "
                                      "edgeneuro takes variables that start at constants")  # fmt: skip
            return
        handle = op.inputs[0] if op.inputs else ""
        if handle not in self.handles:
            raise self.refuse(op, f"'{handle}' is not a variable made by VAR_HANDLE")
        key = self.handles[handle]
        if op.kind == "ASSIGN_VARIABLE" and self.in_call_once:
            value = self.tensors[op.inputs[1]]
            if not value.is_const:
                raise self.refuse(op, "CALL_ONCE sets a variable to a value known only at run time")
            self.initial[key] = np.asarray(value.data)
            self.state_tensor(op, key, value)
            return
        if op.kind == "READ_VARIABLE":
            out = self.tensors[op.outputs[0]]
            var = self.state_tensor(op, key, out)
            self.ops.append(dataclasses.replace(op, inputs=(var,)))
        else:
            value = self.tensors[op.inputs[1]]
            var = self.state_tensor(op, key, value)
            self.ops.append(dataclasses.replace(op, inputs=(op.inputs[1],), outputs=(var,)))

    def state_tensor(self, op: Op, key: tuple[str, str], like: Tensor) -> str:
        """The state tensor that holds variable ``key``, made like ``like`` the first time."""
        if key not in self.variables:
            name = self.unique(f"variable/{key[1]}")
            self.tensors[name] = Tensor(name=name, shape=like.shape, dtype=like.dtype, quant=like.quant)
            self.variables[key] = name
        var = self.tensors[self.variables[key]]
        if (var.dtype, var.size) != (like.dtype, like.size):
            raise self.refuse(op, f"variable '{key[1]}' is {var.dtype} {list(var.shape)}, used as {like.dtype} "
                                  f"{list(like.shape)}")  # fmt: skip
        return var.name

    def refine(self, op: Op) -> bool:
        """Shapes that a subgraph leaves dynamic (a TensorList written at step i is a SLICE of i rows,
        a new row and a SLICE of the rest, CONCATENATED) are computed from the now constant sizes;
        an empty slice is dropped from the concatenation. True if ``op`` was replaced by an alias."""
        t = self.tensors
        if op.kind == "SLICE" and all(t[n].is_const for n in op.inputs[1:3]):
            x = t[op.inputs[0]]
            begin, size = (np.asarray(t[n].data).reshape(-1) for n in op.inputs[1:3])
            if len(begin) == len(size) == len(x.shape):
                shape = tuple(int(d - b if s < 0 else s) for d, b, s in zip(x.shape, begin, size, strict=True))
                self.reshape(op.outputs[0], shape)
        elif op.kind == "RESHAPE" and len(op.inputs) > 1 and op.inputs[1] and t[op.inputs[1]].is_const:
            want = [int(d) for d in np.asarray(t[op.inputs[1]].data).reshape(-1)]
            if want.count(-1) == 1 and all(d != 0 for d in want):
                rest = int(np.prod([d for d in want if d != -1]))
                want[want.index(-1)] = t[op.inputs[0]].size // rest if rest else 0
            if all(d >= 0 for d in want):
                self.reshape(op.outputs[0], tuple(want))
        elif op.kind == "CONCATENATION":
            parts = [n for n in op.inputs if 0 not in t[n].shape]
            axis = op.attrs.get("axis", 0)
            if not parts:
                return False
            axis = axis + len(t[parts[0]].shape) if axis < 0 else axis
            shape = list(t[parts[0]].shape)
            shape[axis] = sum(t[n].shape[axis] for n in parts)
            self.reshape(op.outputs[0], tuple(shape))
            if len(parts) == 1:
                self.alias[op.outputs[0]] = parts[0]
                return True
            if len(parts) < len(op.inputs):
                self.emit(dataclasses.replace(op, inputs=tuple(parts)))
                return True
        return 0 in t[op.outputs[0]].shape if op.outputs else False  # an empty result: nothing to compute

    def reshape(self, name: str, shape: tuple[int, ...]) -> None:
        y = self.tensors[name]
        if y.shape != shape and not y.is_const:
            self.tensors[name] = dataclasses.replace(y, shape=shape)

    def fold(self, op: Op) -> bool:
        """Compute ``op`` now if its inputs are constants; True if it was."""
        ins = [self.tensors[n] for n in op.inputs if n]
        if not ins or not all(t.is_const for t in ins):
            return False
        if op.kind in COUNTER_OPS and len(op.outputs) == 1 and all(t.quant is None for t in ins):
            y = self.tensors[op.outputs[0]]  # a loop counter's arithmetic, whatever kernels take its type
            value = COUNTER_OPS[op.kind](*[t.data for t in ins])
            self.tensors[y.name] = dataclasses.replace(y, data=np.asarray(value).reshape(y.shape).astype(y.dtype))
            return True
        if op.kind not in ops.MODULES:
            return False
        fold_op(op, self.graph, self.tensors)
        return True

    def subgraph(self, op: Op, attr: str) -> tuple[int, Graph]:
        index = op.attrs.get(attr)
        subs = self.graph.subgraphs
        if not isinstance(index, int) or not 0 < index < len(subs):
            raise self.refuse(op, f"{attr} {index!r} names no subgraph (the model has {len(subs)})")
        return index, subs[index]

    def instantiate(self, op: Op, index: int, sub: Graph, args: list[str], tag: str) -> list[str]:
        """Copy ``sub``'s operators into the graph with ``args`` as its inputs; its outputs' names."""
        if len(args) != len(sub.inputs):
            raise self.refuse(op, f"subgraph {index} '{sub.name}' takes {len(sub.inputs)} inputs, given {len(args)}")
        names: dict[str, str] = {}
        for formal, actual in zip(sub.inputs, args, strict=True):
            want, have = sub.t(formal), self.tensors[actual]
            if (want.dtype, want.shape) != (have.dtype, have.shape):
                why = f"subgraph {index} '{sub.name}' input '{formal}' is {want.dtype} {list(want.shape)}, given "
                raise self.refuse(op, why + f"{have.dtype} {list(have.shape)} (shapes that change from one "
                                  "iteration to the next cannot be planned statically)")  # fmt: skip
            names[formal] = actual
        for name, t in sub.tensors.items():
            if name in names:
                continue
            if t.is_const:  # weights: one copy, whatever the number of iterations
                key = (index, name)
                if key not in self.shared:
                    self.shared[key] = self.unique(f"{sub.name}/{name}")
                    self.tensors[self.shared[key]] = dataclasses.replace(t, name=self.shared[key])
                names[name] = self.shared[key]
            else:
                new = self.unique(f"{tag}/{name}")
                self.tensors[new] = dataclasses.replace(t, name=new)
                names[name] = new
        for inner in sub.ops:
            self.emit(dataclasses.replace(
                inner, index=op.index,
                inputs=tuple(names[n] if n else n for n in inner.inputs),
                outputs=tuple(names[n] for n in inner.outputs),
            ))  # fmt: skip
        return [names[n] for n in sub.outputs]

    def unique(self, name: str) -> str:
        while name in self.tensors:
            self.fresh += 1
            name = f"{name}~{self.fresh}"
        return name

    def unroll(self, op: Op) -> None:
        ci, cond = self.subgraph(op, "cond_subgraph_index")
        bi, body = self.subgraph(op, "body_subgraph_index")
        loop = list(op.inputs)
        for trip in range(MAX_TRIPS + 1):
            kept, self.ops = self.ops, []
            (flag,) = self.instantiate(op, ci, cond, loop, f"{op.kind}#{op.index}.{trip}.cond")
            self.ops = kept  # the condition's operators are dropped: it must be a constant
            value = self.tensors[flag]
            if not value.is_const:
                why = "its condition depends on the data; edgeneuro unrolls loops whose trip count is fixed"
                raise self.refuse(op, why + " at compile time (a Keras RNN over a fixed sequence length)")
            if not bool(np.asarray(value.data).reshape(-1)[0]):
                break
            if trip == MAX_TRIPS:
                raise self.refuse(op, f"the loop runs more than {MAX_TRIPS:,} times; edgeneuro unrolls loops")
            loop = self.instantiate(op, bi, body, loop, f"{op.kind}#{op.index}.{trip}")
        self.bind(op, loop)

    def branch(self, op: Op) -> None:
        _, then_sub = self.subgraph(op, "then_subgraph_index")
        cond, args = op.inputs[0], list(op.inputs[1:])
        c = self.tensors[cond]
        if c.size != 1:
            raise self.refuse(op, f"condition '{cond}' has {c.size} values; IF takes one")
        if c.is_const:
            attr = "then_subgraph_index" if bool(np.asarray(c.data).reshape(-1)[0]) else "else_subgraph_index"
            index, sub = self.subgraph(op, attr)
            self.bind(op, self.instantiate(op, index, sub, args, f"{op.kind}#{op.index}"))
            return
        ti, _ = self.subgraph(op, "then_subgraph_index")
        ei, else_sub = self.subgraph(op, "else_subgraph_index")
        yes = self.instantiate(op, ti, then_sub, args, f"{op.kind}#{op.index}.then")
        no = self.instantiate(op, ei, else_sub, args, f"{op.kind}#{op.index}.else")
        if len(yes) != len(op.outputs) or len(no) != len(op.outputs):
            raise self.refuse(op, f"its branches give {len(yes)} and {len(no)} outputs for its {len(op.outputs)}")
        for out, a, b in zip(op.outputs, yes, no, strict=True):
            self.emit(Op("SELECT_V2", (cond, a, b), (out,), {"version": 1}, op.index))

    def bind(self, op: Op, values: list[str]) -> None:
        """The operator's outputs are ``values``: later readers read those instead."""
        if len(values) != len(op.outputs):
            raise self.refuse(op, f"its subgraph gives {len(values)} outputs for its {len(op.outputs)}")
        for out, value in zip(op.outputs, values, strict=True):
            want, have = self.tensors[out], self.tensors[value]
            if (want.dtype, want.shape) != (have.dtype, have.shape):
                raise self.refuse(op, f"output '{out}' is {want.dtype} {list(want.shape)} but its subgraph gives "
                                      f"{have.dtype} {list(have.shape)}")  # fmt: skip
            self.alias[out] = value

    def result(self) -> Graph:
        g = self.graph
        for op in g.ops:
            self.emit(op)
        state = self.state()
        kept = _live(self.ops, [*(self.resolve(n) for n in g.outputs), *g.state, *state])
        outputs = []
        for name in g.outputs:  # keep the model's output names
            value = self.resolve(name)
            if value != name and value not in g.inputs and not self.tensors[value].is_const and value not in outputs:
                kept = [_rename(o, value, name) for o in kept]
                self.tensors[name] = dataclasses.replace(self.tensors[value], name=name, data=None)
                value = name
            outputs.append(value)
        used = {*g.inputs, *outputs, *(n for o in kept for n in (*o.inputs, *o.outputs))}
        tensors = {n: t for n, t in self.tensors.items() if n in used}
        return dataclasses.replace(g, tensors=tensors, ops=tuple(kept), outputs=tuple(outputs), subgraphs=(),
                                   temporal=g.temporal or bool(state), state=(*g.state, *state))  # fmt: skip

    def state(self) -> list[str]:
        """The variables the model assigns, as state; one it only reads is the constant it starts as."""
        assigned = {o.outputs[0] for o in self.ops if o.kind == "ASSIGN_VARIABLE"}
        state = []
        for key, name in self.variables.items():
            start = self.initial.get(key)
            if name not in assigned:
                if start is None:
                    raise UnsupportedOperator(self.graph.source, "READ_VARIABLE", -1, f"variable '{key[1]}' is "
                                              "read but neither initialized by CALL_ONCE nor assigned")  # fmt: skip
                t = self.tensors[name]
                self.tensors[name] = dataclasses.replace(t, data=start.reshape(t.shape).astype(t.dtype))
                self.ops = [self.fold_read(o) for o in self.ops]
                continue
            if start is not None and np.any(start != 0):
                why = f"variable '{key[1]}' starts at non-zero values; edgeneuro's en_model_reset() sets state to zero"
                raise UnsupportedOperator(self.graph.source, "CALL_ONCE", -1, why)
            state.append(name)
        self.ops = [o for o in self.ops if o is not None]
        return state

    def fold_read(self, op: Op | None) -> Op | None:
        """READ_VARIABLE of a constant variable: its output is that constant."""
        if op is not None and op.kind == "READ_VARIABLE" and self.tensors[op.inputs[0]].is_const:
            out = self.tensors[op.outputs[0]]
            data = self.tensors[op.inputs[0]].data
            self.tensors[out.name] = dataclasses.replace(out, data=np.asarray(data).reshape(out.shape))
            return None
        return op


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")


def _rename(op: Op, old: str, new: str) -> Op:
    swap = lambda names: tuple(new if n == old else n for n in names)  # noqa: E731
    return dataclasses.replace(op, inputs=swap(op.inputs), outputs=swap(op.outputs))


def _live(ops_: list[Op], outputs: list[str]) -> list[Op]:
    """The operators some output depends on (a loop's step counter and the copies of a value that
    the next iteration overwrites are not)."""
    need, kept = set(outputs), []
    for op in reversed(ops_):
        if op.outputs and not need & set(op.outputs):
            continue
        kept.append(op)
        need.update(n for n in op.inputs if n)
    return kept[::-1]


def applies(graph: Graph, options: CompileOptions) -> bool:
    return bool(graph.subgraphs) or any(op.kind in (*VARIABLE_OPS, *ops.INLINED) for op in graph.ops)


def run(graph: Graph, options: CompileOptions) -> Graph:
    """WHILE loops unrolled over their compile-time trip count and IF branches inlined, one graph
    without subgraphs."""
    return _Inliner(graph).result()
