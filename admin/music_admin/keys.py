"""Making keys (the operator's side); their format and checksum live with the authorizer (music_api.authorizer.keys)."""

import secrets

from music_api.authorizer.keys import BASE62, RANDOM_LENGTH, Environment, checksum


def generate_key(environment: Environment) -> str:
    body = f"frd_{environment}_" + "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return body + checksum(body)


def key_hint(key: str) -> str:
    """What may be shown of a key after creation: its prefix and last four characters."""
    return f"{key[:9]}...{key[-4:]}"
