"""Rendering of derivations (Markdown, LaTeX) and plots."""

from .derivation import Check, Derivation, Step

__all__ = ["Check", "Derivation", "Step"]
