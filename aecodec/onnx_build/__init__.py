"""The ONNX build tool: turns a model's weights into the graph folder the onnx runtime uses.

One graph per network, NCHW with batch 1, dynamic height and width, opset :data:`OPSET`,
weights stored as plain initializers (GDN's training reparametrization folded away)::

    analysis.onnx        image (1,3,H,W) ─g_a─► latent y (1,M,H/16,W/16)
    hyper_analysis.onnx  gained_latent y_g ─edge-pad to ×4─h_a─► hyper_latent z (1,N,⌈h/4⌉,⌈w/4⌉)
    synthesis.onnx       latent ŷ ─g_s─► image (unclipped)
    hyper_decoder.onnx   ẑ (int64) ─exact integer h_s─► mean, log_scale (int64, units of 2^-8)
    context.onnx         anchors, mean, log_scale (int64, latent grid) ─exact integer checkerboard
                         context─► refined_mean, refined_log_scale   (only models with a context model)
    head.onnx            the backbone's four outputs (and the image) ─restoration head─► its output

The float graphs are rate-free, one per method of the Transforms protocol, so a rate search
runs g_a once per image; the host applies the per-channel gains, which ``gains.json`` gives
with the exact interpolation. The same graphs serve the onnx backend and embedders in other
languages (with ``entropy_tables.json`` for the range coder).

Modules, by job: :mod:`.torch_graphs` (torch modules exported as float graphs),
:mod:`.surgery` (exact rewrites of exported graphs that onnxruntime runs faster),
:mod:`.integer_graphs` (hand-built exact integer graphs), :mod:`.graph_cards` and
:mod:`.data_cards` (the JSON cards), :mod:`.export` (reading the weights, writing the folder).
The runtime (:mod:`aecodec.runtime`) only reads what this package writes and never imports it.
"""

OPSET = 18
"""ONNX opset of every graph."""
IR_VERSION = 10
"""ONNX IR version of the hand-built integer graphs, the one the exporter gives the float graphs."""
