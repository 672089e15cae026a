"""make bench-engine: the built-in synthesizer's speed and memory, master only and with its four stems.

Each case runs in a fresh process (``--case``) so its peak RSS (ru_maxrss, which includes numpy and lameenc
once imported: about 45 MB) is its own; the CPU time counted is ``generate`` alone, user + system. The bar
(docs/engines.md): the master at >= 20 s of audio per CPU second, a job with stems at >= 8.

Usage: python benchmarks/bench_engine.py [--durations 30 300 [3600]] [--output PATH]
"""

import argparse
import json
import platform
import resource
import subprocess  # nosec B404
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "engine.json"
PROMPT = "upbeat acoustic folk with drums in D major"  # a full arrangement: drums, bass, strummed chords, a lead
TARGETS = {"master": 20.0, "stems": 8.0}  # seconds of audio per CPU second


class _Quiet:
    def report(self, fraction: float) -> None:
        pass

    def cancel_requested(self) -> bool:
        return False


def case(duration: int, stems: bool) -> dict[str, Any]:
    from music_api.worker.engine import GenerationRequest  # noqa: PLC0415 - imported in the measured process
    from music_api.worker.synth.engine import SynthEngine  # noqa: PLC0415

    request = GenerationRequest(
        job_id="bench",
        engine="studio",
        prompt=PROMPT,
        duration_seconds=duration,
        instrumental=False,
        mode="creation",
        settings={"stems": stems},
    )
    started, cpu = time.perf_counter(), time.process_time()
    track = SynthEngine().generate(request, _Quiet())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - started
    files = [track.master, *track.stems.values()]
    return {
        "duration_s": duration,
        "stems": stems,
        "cpu_s": round(cpu, 2),
        "wall_s": round(wall, 2),
        "audio_s_per_cpu_s": round(duration / cpu, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "files": len(files),
        "bytes": sum(len(audio.data) for audio in files),
        "master_lufs": track.master.loudness_lufs,
        "master_seconds": track.master.duration_seconds,
    }


def run(durations: list[int], output: Path) -> dict[str, Any]:
    results = []
    for duration in durations:
        for stems in (False, True):
            completed = subprocess.run(  # noqa: S603 - this script, in a fresh interpreter # nosec B603
                [sys.executable, __file__, "--case", str(duration), "1" if stems else "0"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                timeout=3600,
            )
            measured = json.loads(completed.stdout)
            measured["target"] = TARGETS["stems" if stems else "master"]
            measured["met"] = measured["audio_s_per_cpu_s"] >= measured["target"]
            results.append(measured)
            print(
                f"{duration:>5} s {'with stems' if stems else 'master    '}: {measured['cpu_s']:>7.2f} CPU s, "
                f"{measured['audio_s_per_cpu_s']:>5.1f}x real time (target {measured['target']:.0f}x), "
                f"peak RSS {measured['peak_rss_mb']} MB, {measured['bytes'] / 1e6:.1f} MB of MP3, "
                f"{measured['master_lufs']} LUFS"
            )
    summary = {"machine": platform.machine(), "python": platform.python_version(), "results": results}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--durations", type=int, nargs="+", default=[30, 300])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.case:
        print(json.dumps(case(int(arguments.case[0]), arguments.case[1] == "1")))
        return 0
    summary = run(arguments.durations, arguments.output)
    return 0 if all(result["met"] for result in summary["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
