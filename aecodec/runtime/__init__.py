"""Inference backends for the float transforms, behind one numpy-in/numpy-out interface.

``torch_backend`` runs them with PyTorch; the exact integer path never goes through a
backend (see :mod:`aecodec.codecs.frozen`).
"""
