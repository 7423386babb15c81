"""Rendering of derivations (Markdown, LaTeX) and plots."""

from .derivation import Average, Check, Derivation, Step

__all__ = ["Average", "Check", "Derivation", "Step"]
