"""client.tracks and ``freddy-music track`` against the local API: the demo track, its master and its stems."""

import json
import sys
from pathlib import Path

import pytest

from freddy_music import Client, NotFoundError
from music_local.launcher import LaunchedApi
from tests.helpers.client import run_as_alice
from tests.helpers.seed import ALICE_KEY, AUDIO_BYTES, ORG, SEED_JOB_ID, SEED_TRACK_ID

BOBS_TRACK = "mtrack_b0b0b0b0b0b0"


def test_a_succeeded_jobs_track_with_its_licence_and_stems(local_api: LaunchedApi, tmp_path: Path) -> None:
    with Client(ALICE_KEY, base_url=local_api.url) as client:
        job = client.generations.get(ORG, SEED_JOB_ID)
        assert job.result_track_id is not None
        track = client.tracks.get(ORG, job.result_track_id)
        saved = [client.tracks.download(track, tmp_path / f"{stem}.mp3", stem=stem) for stem in sorted(track.stem_urls)]
        master = client.tracks.download(track, tmp_path / "master.mp3")

    assert (track.id, track.title, track.licence_class) == (SEED_TRACK_ID, "Late Night Study", "personal_only")
    assert (track.commercial_use, track.requires_attribution) == (False, True)
    assert [path.name for path in saved] == ["drums.mp3", "vocals.mp3"]
    assert all(path.read_bytes() == AUDIO_BYTES for path in [*saved, master])


def test_another_users_track_is_not_found(local_api: LaunchedApi) -> None:
    with Client(ALICE_KEY, base_url=local_api.url) as client, pytest.raises(NotFoundError) as raised:
        client.tracks.get(ORG, BOBS_TRACK)

    assert raised.value.details == {"track_id": BOBS_TRACK}


def test_the_track_command_prints_the_track_and_saves_a_stem(local_api: LaunchedApi, tmp_path: Path) -> None:
    output = tmp_path / "vocals.mp3"
    command = [sys.executable, "-m", "freddy_music", "track", ORG, SEED_TRACK_ID, "-o", str(output), "--stem", "vocals"]

    printed = run_as_alice(command, local_api.url)

    assert json.loads(printed)["id"] == SEED_TRACK_ID, "standard output is the JSON alone (saved ... goes to stderr)"
    assert output.read_bytes() == AUDIO_BYTES
