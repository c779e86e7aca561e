"""The multi_fidelity benchmark family."""
