"""The parallel benchmark family."""
