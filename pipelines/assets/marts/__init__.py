"""Marts stage, one module per idea. Every asset here is in group `marts`; publish depends on all of them."""
