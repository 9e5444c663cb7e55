"""Entropy modelling: quantization, learned densities, integer CDF tables, range coding.

``coder`` and ``tables`` are torch-free so the decoder's exact path never depends on a
float library; the density modules (``factorized``, ``gaussian``) are the training-time
side and are imported lazily by the codecs that need them.
"""
