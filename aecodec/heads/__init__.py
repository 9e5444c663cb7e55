"""Restoration and colorization heads over the codec's shared analysis backbone."""
