"""The sample_efficiency benchmark family."""
