"""Compression and export: quantization (and, later, pruning) of trained models."""
