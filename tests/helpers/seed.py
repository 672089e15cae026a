"""Who the tests' callers are: the demo fixtures (local/demo.json), the same world ``make run`` serves.

``usr_alice01`` and ``usr_bob02`` belong to ``org_abc123``; ``usr_carol03`` belongs to ``org_xyz789``;
``usr_dave04`` belongs to no organization. Alice owns the contract's example job and one job in every other
status; Bob and Carol own one succeeded job each. Every key is a ``frd_test_`` key: the local stack is a test
stage. events/ carries these keys and ids.
"""

from typing import Any

from music_local.fixtures import DEMO_FIXTURES, read_fixtures

ALICE = "usr_alice01"
BOB = "usr_bob02"
CAROL = "usr_carol03"
DAVE = "usr_dave04"
ORG = "org_abc123"
OTHER_ORG = "org_xyz789"
ALICE_KEY = "frd_test_ecyWJFrOeyePLimY7BxcQhWzSkVOa32StzqY"
BOB_KEY = "frd_test_vHVglp1HzaDXIhkrtosSDrsrRpVOAi1spkeC"
CAROL_KEY = "frd_test_8EaPkB8ZbsViD0PChmXfVG8Fnqs5Jq33HVpx"
ALICE_REVOKED_KEY = "frd_test_FoRgP5mQb30Y4SqPXdR6PbFWPn0IIi3QOqwe"
ALICE_EXPIRED_KEY = "frd_test_lmBWaxC1ASHF8KJ0WFmNfB1p2b8xbM343dpr"
DAVE_KEY = "frd_test_wsttWFVE7yPMte6VpwGE33kW7X5G8X1IGpGF"
UNKNOWN_KEY = "frd_test_xMYET98Zl9TrC9tdIFynFpmiG4JpwV3CbU7g"  # well formed, never stored
LIVE_KEY = "frd_live_ggbTVPjOV7i8Ge9QwRl0dzmN3NQQQB3IjGHt"  # well formed; the local stack accepts frd_test_ keys only
SEED_JOB_ID = "mgen_2f8b1c4e9a7d"
SEED_TRACK_ID = "mtrack_7c1a9e2f4b8d"

DEMO = read_fixtures(DEMO_FIXTURES)
JOBS: list[dict[str, Any]] = DEMO.jobs
AUDIO_BYTES = (DEMO_FIXTURES.parent / "audio" / "late-night-study.mp3").read_bytes()
