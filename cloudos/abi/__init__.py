"""The ABI: data both sides of a seam agree on (numbers, structures, protocols).

Below every other layer: it imports nothing from ``hal``, ``kernel``, ``servers``,
``linux`` or ``cli``, and all of them may import it (tests/test_layering.py).
"""
