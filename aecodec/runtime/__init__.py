"""Inference runtimes for the networks, behind one numpy-in/numpy-out interface.

``torch_backend`` runs the float transforms and heads with PyTorch, ``onnx_backend`` runs
the exported graphs with onnxruntime, and ``onnx_files`` names the files of a graph folder
and tells whether it is current. A runtime is handed arrays and folders; which model they
belong to and which runtime runs it is decided above, in :mod:`aecodec.assembly`. The exact
integer path never depends on the runtime (see :mod:`aecodec.codecs.frozen`).
"""
