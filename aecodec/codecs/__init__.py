"""Codecs: the trainable networks and the registry that names shipped models."""
