"""client.tracks: get a track (typed, stem URLs by name) and save its master or a stem, sync and async alike;
``freddy-music track`` prints it and saves what --output/--stem name."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from freddy_music import DownloadError, MusicTrack, NotFoundError
from freddy_music.cli import ExitCode, main
from tests.helpers.client import API_KEY, AUDIO, ORG, Flavour, envelope
from tests.helpers.scripted_server import Answer, ScriptedServer

TRACK = "mtrack_7c1a9e2f4b8d"
TRACK_PATH = f"/v1/music/{ORG}/tracks/{TRACK}"
DENIED = Answer(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")


def track_body(base: str, version: int = 1, **fields: Any) -> dict[str, Any]:
    """A track as the API answers it; ``version`` tells apart the URLs of successive fetches."""
    return {
        "id": TRACK,
        "title": "Late Night Study",
        "engine": "studio",
        "mode": "creation",
        "measured_duration_seconds": 119.4,
        "instrumental": True,
        "licence_class": "personal_only",
        "commercial_use": False,
        "requires_attribution": True,
        "mime_type": "audio/mpeg",
        "created_at": "2026-06-28T10:30:00Z",
        "playback_url": f"{base}/storage/v{version}/master.mp3?sig={version}",
        "playback_url_expires_at": "2099-01-01T00:00:00Z",
        "stem_urls": {
            "drums": f"{base}/storage/v{version}/drums.mp3?sig={version}",
            "vocals": f"{base}/storage/v{version}/vocals.mp3?sig={version}",
        },
    } | fields


def get_track(flavour: Flavour) -> MusicTrack:
    track: MusicTrack = flavour.call(lambda client: client.tracks.get(ORG, TRACK))
    return track


def test_a_track_has_every_field_typed(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(TRACK_PATH, Answer(200, track_body(server.url, a_future_field=1)))

    track = get_track(flavour)

    assert (track.id, track.licence_class, track.commercial_use, track.requires_attribution) == (
        TRACK,
        "personal_only",
        False,
        True,
    )
    assert track.created_at == datetime(2026, 6, 28, 10, 30, tzinfo=UTC)
    assert sorted(track.stem_urls) == ["drums", "vocals"]
    assert track.model_extra == {"a_future_field": 1}
    (request,) = server.received
    assert (request.method, request.path, request.headers["X-API-Key"]) == ("GET", TRACK_PATH, API_KEY)


def test_a_missing_track_raises_not_found(flavour: Flavour, server: ScriptedServer) -> None:
    server.script(TRACK_PATH, Answer(404, envelope(404, "RESOURCE_NOT_FOUND", "client_error", track_id=TRACK)))

    with pytest.raises(NotFoundError) as raised:
        get_track(flavour)

    assert raised.value.details == {"track_id": TRACK}


@pytest.mark.parametrize(("stem", "saved"), [(None, "master"), ("vocals", "vocals")])
def test_the_master_or_a_stem_is_saved(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path, stem: str | None, saved: str
) -> None:
    server.script(TRACK_PATH, Answer(200, track_body(server.url)))
    server.script(f"/storage/v1/{saved}.mp3", Answer(200, AUDIO))
    track = get_track(flavour)

    path = flavour.call(lambda client: client.tracks.download(track, tmp_path / "out.mp3", stem=stem))

    assert path.read_bytes() == AUDIO
    (download,) = server.requests_to(f"/storage/v1/{saved}.mp3")
    assert "X-API-Key" not in download.headers


def test_a_403_from_the_storage_fetches_the_track_again_once(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    server.script(TRACK_PATH, Answer(200, track_body(server.url, 1)), Answer(200, track_body(server.url, 2)))
    server.script("/storage/v1/drums.mp3", DENIED)
    server.script("/storage/v2/drums.mp3", Answer(200, AUDIO))
    track = get_track(flavour)

    flavour.call(lambda client: client.tracks.download(track, tmp_path / "drums.mp3", stem="drums"))

    assert (tmp_path / "drums.mp3").read_bytes() == AUDIO
    assert len(server.requests_to(TRACK_PATH)) == 2


def test_urls_past_their_expiry_are_replaced_before_they_are_tried(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    expired = track_body(server.url, 1, playback_url_expires_at="2020-01-01T00:00:00Z")
    server.script(TRACK_PATH, Answer(200, expired), Answer(200, track_body(server.url, 2)))
    server.script("/storage/v2/master.mp3", Answer(200, AUDIO))
    track = get_track(flavour)

    flavour.call(lambda client: client.tracks.download(track, tmp_path / "master.mp3"))

    assert server.requests_to("/storage/v1/master.mp3") == []
    assert (tmp_path / "master.mp3").read_bytes() == AUDIO


def test_an_unknown_stem_is_a_download_error_naming_the_stems(
    flavour: Flavour, server: ScriptedServer, tmp_path: Path
) -> None:
    server.script(TRACK_PATH, Answer(200, track_body(server.url)))
    track = get_track(flavour)

    with pytest.raises(DownloadError, match=r"has no stem 'bass' \(it has: drums, vocals\)"):
        flavour.call(lambda client: client.tracks.download(track, tmp_path / "bass.mp3", stem="bass"))

    assert list(tmp_path.iterdir()) == []


def test_a_track_built_by_hand_cannot_be_refreshed(flavour: Flavour, server: ScriptedServer, tmp_path: Path) -> None:
    track = MusicTrack.model_validate(track_body(server.url, playback_url_expires_at="2020-01-01T00:00:00Z"))

    with pytest.raises(DownloadError, match="not read through a client"):
        flavour.call(lambda client: client.tracks.download(track, tmp_path / "x.mp3"))


class TestTheCommand:
    @pytest.fixture(autouse=True)
    def settings(self, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("FREDDY_API_KEY", API_KEY)
        monkeypatch.setenv("FREDDY_BASE_URL", server.url)

    def test_prints_the_track_as_it_came(self, server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
        body = track_body(server.url, a_future_field=[1])
        server.script(TRACK_PATH, Answer(200, body))

        assert main(["track", ORG, TRACK]) == ExitCode.SUCCEEDED
        assert json.loads(capsys.readouterr().out) == body

    @pytest.mark.parametrize(("options", "saved"), [([], "master"), (["--stem", "drums"], "drums")])
    def test_saves_the_master_or_a_stem(
        self,
        server: ScriptedServer,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        options: list[str],
        saved: str,
    ) -> None:
        server.script(TRACK_PATH, Answer(200, track_body(server.url)))
        server.script(f"/storage/v1/{saved}.mp3", Answer(200, AUDIO))
        output = tmp_path / "out.mp3"

        code = main(["track", ORG, TRACK, "--output", str(output), *options])

        out, err = capsys.readouterr()
        assert code == ExitCode.SUCCEEDED
        assert json.loads(out) == track_body(server.url), "standard output is the JSON alone: it stays parseable"
        assert err == f"saved {output} ({len(AUDIO):,} bytes)\n"
        assert output.read_bytes() == AUDIO

    def test_a_missing_track_exits_not_found(self, server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> None:
        server.script(TRACK_PATH, Answer(404, envelope(404, "RESOURCE_NOT_FOUND", "client_error")))

        assert main(["track", ORG, TRACK]) == ExitCode.NOT_FOUND
        assert capsys.readouterr().err.startswith("freddy-music: ")

    def test_a_stem_without_an_output_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as exited:
            main(["track", ORG, TRACK, "--stem", "drums"])

        assert exited.value.code == ExitCode.USAGE
        assert "--output" in capsys.readouterr().err
