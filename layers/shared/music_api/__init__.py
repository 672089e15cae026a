"""The Lambda layer of the music generations API (docs/architecture.md).

``core`` is what every function shares, with the route frame; ``routes`` holds one module per HTTP route; ``jobs``,
``tracks`` and ``engines`` are the domains the routes compose; ``authorizer`` is the REQUEST authorizer;
``dispatch``, ``worker`` and ``webhooks`` run off queues, schedules and the jobs table's stream.
"""
