"""The bottom layer: settings, errors, input limits and paths.

It imports nothing of ours, so every other package (corpus, index, agent, evals, ui,
cli) may import it; tests/test_layers.py holds the order.
"""
