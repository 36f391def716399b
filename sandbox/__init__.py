"""Local emulators of the platforms' APIs, for demos, tests and benchmarks.

Each platform lives in its own package (`sandbox.shopify`, ...); `sandbox.server` mounts
them side by side in one ASGI app.
"""
