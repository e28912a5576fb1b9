"""What every app shares: the API layer (common.api) and real-time plumbing.

It imports no Tienda app and not `config`: apps import from here, `config` wires the apps.
"""
