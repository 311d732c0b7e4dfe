"""The MiniLM encoder as an ONNX Runtime graph, built in memory from the packaged weights.

Why: the screening service's text latency target (p99 25 ms at 200 requests/s on two cores)
leaves about 3 ms of model time per prompt; the NumPy encoder needs about 7. The graph here
is the same computation (post-norm BERT, exact GELU, the same weights, read from the same
``model.safetensors``), written op by op with ``onnx.helper`` so nothing is downloaded or
converted ahead of time. ONNX Runtime then runs it with fused kernels (3.5x the NumPy speed,
same numbers to 1e-7), and, in the opt-in ``int8`` mode, with the weight matrices quantised
to 8 bits (dynamic quantisation: weights
per output channel, activations per call), which uses the CPU's integer dot-product
instructions where it has them.

Quantisation changes the embeddings slightly, so it is not the default: the heads were trained
on float embeddings. ``tests/classifiers/text/test_embedder.py`` holds the float graph to the
sentence-transformers reference vectors (1e-5, as the NumPy encoder) and the int8 graph to a
cosine similarity of at least 0.96 (0.972-0.994 measured); ``childsafe eval --suite text``
reports the classifier's figures with the backend in use (docs/models/text-risk.md).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from childsafe.errors import ConfigError

DIM = 384
HEADS = 12
LAYERS = 6
EPS = 1e-12
OPSET = 20  # Gelu and LayerNormalization are standard ops from here on


def _require() -> tuple[Any, Any]:
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise ConfigError(
            f"the onnx text backend needs onnx and onnxruntime ({exc.name} is missing): "
            "pip install childsafe[text], or set CHILDSAFE_TEXT_BACKEND=numpy"
        ) from None
    return onnx, onnxruntime


def build_graph(tensors: dict[str, np.ndarray[Any, Any]]) -> Any:
    """The encoder as an ``onnx.ModelProto``: inputs ``ids`` (int64 [N, L]), ``pos``
    (float32 [L, 384]: position + token-type embeddings) and ``mask_bias`` (float32 [N, L]:
    0 for tokens, -1e9 for padding); output ``hidden`` (float32 [N, L, 384])."""
    onnx, _ = _require()
    from onnx import TensorProto, helper, numpy_helper

    inits: list[Any] = []
    nodes: list[Any] = []

    def const(name: str, value: np.ndarray[Any, Any]) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def f32(name: str) -> np.ndarray[Any, Any]:
        return np.asarray(tensors[name], dtype=np.float32)

    def node(op: str, inputs: list[str], out: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def linear(x: str, prefix: str, out: str) -> str:
        w = const(prefix + ".w", f32(prefix + ".weight").T)
        b = const(prefix + ".b", f32(prefix + ".bias"))
        return node("Add", [node("MatMul", [x, w], out + "_mm"), b], out)

    def layer_norm(x: str, prefix: str, out: str) -> str:
        scale = const(prefix + ".g", f32(prefix + ".weight"))
        bias = const(prefix + ".beta", f32(prefix + ".bias"))
        return node("LayerNormalization", [x, scale, bias], out, axis=-1, epsilon=EPS)

    head = DIM // HEADS
    const("heads_shape", np.array([0, 0, HEADS, head], dtype=np.int64))
    const("model_shape", np.array([0, 0, DIM], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(head), dtype=np.float32))
    const("mask_axes", np.array([1, 2], dtype=np.int64))
    const("word", f32("embeddings.word_embeddings.weight"))

    x = node("Gather", ["word", "ids"], "emb_word", axis=0)
    x = node("Add", [x, "pos"], "emb_sum")
    x = layer_norm(x, "embeddings.LayerNorm", "emb")
    mask = node("Unsqueeze", ["mask_bias", "mask_axes"], "mask4")
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        split = {}
        for part, perm in (("query", [0, 2, 1, 3]), ("key", [0, 2, 3, 1]), ("value", [0, 2, 1, 3])):
            lin = linear(x, p + "attention.self." + part, f"l{i}_{part}")
            heads = node("Reshape", [lin, "heads_shape"], f"l{i}_{part}_h")
            split[part] = node("Transpose", [heads], f"l{i}_{part}_t", perm=perm)
        scores = node("MatMul", [split["query"], split["key"]], f"l{i}_scores")
        scores = node("Mul", [scores, "scale"], f"l{i}_scaled")
        scores = node("Add", [scores, mask], f"l{i}_masked")
        probs = node("Softmax", [scores], f"l{i}_probs", axis=-1)
        ctx = node("MatMul", [probs, split["value"]], f"l{i}_ctx")
        ctx = node("Transpose", [ctx], f"l{i}_ctx_t", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, "model_shape"], f"l{i}_ctx_r")
        attn = linear(ctx, p + "attention.output.dense", f"l{i}_attn")
        x = node("Add", [x, attn], f"l{i}_res1")
        x = layer_norm(x, p + "attention.output.LayerNorm", f"l{i}_ln1")
        hidden = linear(x, p + "intermediate.dense", f"l{i}_inter")
        hidden = node("Gelu", [hidden], f"l{i}_gelu", approximate="none")
        down = linear(hidden, p + "output.dense", f"l{i}_down")
        x = node("Add", [x, down], f"l{i}_res2")
        x = layer_norm(x, p + "output.LayerNorm", "hidden" if i == LAYERS - 1 else f"l{i}_ln2")

    graph = helper.make_graph(
        nodes,
        "minilm_encoder",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["N", "L"]),
            helper.make_tensor_value_info("pos", TensorProto.FLOAT, ["L", DIM]),
            helper.make_tensor_value_info("mask_bias", TensorProto.FLOAT, ["N", "L"]),
        ],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["N", "L", DIM])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model


def _quantize(model: Any) -> bytes:
    """Weights of every MatMul to int8 (per channel); the embedding table stays float."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantiser logs a pre-processing hint on the root logger every time; it is advice
    # for exported vision models and does not apply to a graph built op by op.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        return _quantize_files(model, quantize_dynamic, QuantType.QInt8)
    finally:
        root.setLevel(level)


def _quantize_files(model: Any, quantize_dynamic: Any, qint8: Any) -> bytes:
    with tempfile.TemporaryDirectory(prefix="childsafe-onnx-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(model.SerializeToString())
        quantize_dynamic(
            src,
            dst,
            weight_type=qint8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
        return dst.read_bytes()


class OnnxEncoder:
    """Runs the encoder graph; ``run`` is thread-safe (ONNX Runtime sessions are)."""

    def __init__(
        self, tensors: dict[str, np.ndarray[Any, Any]], *, int8: bool = True, threads: int = 1
    ) -> None:
        _, ort = _require()
        model = build_graph(tensors)
        payload = _quantize(model) if int8 else model.SerializeToString()
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.int8 = int8
        self._session = ort.InferenceSession(
            payload, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def run(self, ids: np.ndarray[Any, Any], pos: np.ndarray[Any, Any], mask_bias: Any) -> Any:
        """The last hidden state, [N, L, 384] float32."""
        feeds = {"ids": ids, "pos": pos, "mask_bias": mask_bias}
        return self._session.run(["hidden"], feeds)[0]
