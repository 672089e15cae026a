"""The HTTP routes: one module per route, named after its OpenAPI operationId, each its parse, its operation and
its answer through the shared frame (music_api.core.route). A route module is loaded by its own function alone:
routes never import each other (tests/unit/test_layout.py)."""
