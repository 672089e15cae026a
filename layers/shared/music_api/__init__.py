"""The Lambda layer of the music generations API, laid out by request path (docs/architecture.md).

``core`` is what every function shares; ``generations`` is GET /generations/{job_id}; ``access`` is the REQUEST
authorizer. The two request paths never import each other.
"""
