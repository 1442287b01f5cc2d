"""Live page figures, measured in a real browser: ``python -m webapp.dev.live_bench [--minutes 10]``.

Starts ``streamlit run`` on 127.0.0.1, opens the Live page in headless Chromium whose fake
microphone loops a generated file (segment A, then segment B, 20 s each, chosen so the model gives
them different genres, steadily, after the Opus codec the browser sends them through), and prints:

- latency: from a change in the played audio to the big verdict on screen showing the new genre
  (the played position is timed from the server's first received frame, so the few tens of
  milliseconds the first frame takes to arrive are not counted);
- updates per minute on screen, the server's CPU share, and its memory before Start, after the first
  minute of listening (the stream and the worker warmed up) and after ``--minutes`` (the Live page
  keeps at most 10 minutes of audio per listener: 19 MB at 16 kHz);
- the same latency and CPU with ``--sessions`` listeners at once (4 by default);
- with ``--room 1 8 16 30``: a classroom of that many listeners (the projector's page and phones),
  all pages in one browser; the server's CPU per added listener, updates per minute and latency for
  the projector and the phones, memory per listener and after they all leave, and how fast one
  phone beyond the listener cap is told the room is full.

Needs Debian's chromium and playwright (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from genre_model import synth
from genre_model.bench import rss_mb

SEGMENT = 20.0
SR = 48000
GENRE = re.compile(r"^(BLUES|CLASSICAL|COUNTRY|DISCO|HIPHOP|JAZZ|METAL|POP|REGGAE|ROCK) \d+%$")


def opus_round_trip(x: np.ndarray, sr: int = SR, bitrate: int = 32000) -> np.ndarray:
    """``x`` (mono float) encoded and decoded with Opus, as the browser sends it over WebRTC (PyAV, which
    aiortc brings). The codec changes what the model hears: the opening of one generated segment is
    "jazz" as written and "rock"/"blues" after Opus."""
    import av
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=sr)
        stream.bit_rate, stream.layout = bitrate, "mono"
        pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
        for i in range(0, len(pcm), 960):  # 20 ms frames, as WebRTC sends them
            frame = av.AudioFrame.from_ndarray(pcm[None, i:i + 960], format="s16", layout="mono")
            frame.sample_rate = sr
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        y = np.concatenate([f.to_ndarray().reshape(-1) for f in inp.decode(audio=0)])
    return (y / 32768.0 if y.dtype == np.int16 else y).astype(np.float32)[:len(x)]


def _steady_genre(clf, x: np.ndarray, lo: float, hi: float) -> str | None:
    """The genre of every chunk of ``x`` between ``lo`` and ``hi`` seconds, chunked as the Live page
    chunks (the model's own chunk and hop), if they all agree."""
    genres = set(clf.predict(synth.wav_bytes(x[int(lo * SR):int(hi * SR)], SR)).chunk_genres)
    return genres.pop() if len(genres) == 1 else None


def _looped_bar(x: np.ndarray, *, bpm: float, first_beat: int) -> np.ndarray:
    """One 4-beat bar of ``x`` repeated for a whole segment: the generated music drifts from bar to bar
    (the model calls some bars blues, some jazz), a loop of one bar stays one genre."""
    bar = int(4 * 60 / bpm * SR)
    start = int(first_beat * 60 / bpm * SR)
    return np.tile(x[start:start + bar], int(np.ceil(SEGMENT * SR / bar)))[:int(SEGMENT * SR)]


def _segments() -> tuple[np.ndarray, np.ndarray, str, str]:
    """Two generated segments the default model hears as two different genres, steadily, after the
    Opus codec, with each following the other as the fake microphone loops them (checked here)."""
    from genre_model.predict import Classifier
    clf = Classifier("default", device="cpu")
    candidates = [_looped_bar(synth.music_like(SEGMENT, sr=SR, seed=6, bpm=70), bpm=70, first_beat=8),
                  synth.drum_pattern(SEGMENT, sr=SR, bpm=120, seed=1),
                  _looped_bar(synth.music_like(SEGMENT, sr=SR, seed=4, bpm=130), bpm=130, first_beat=8),
                  synth.drum_pattern(SEGMENT, sr=SR, bpm=150, seed=1)]
    for i in range(len(candidates)):
        for j in range(len(candidates)):
            if i == j:
                continue
            a, b = candidates[i], candidates[j]
            heard = opus_round_trip(np.concatenate([a, b, a, b]))
            # the chunks wholly inside the second A and the second B (after a loop, as in the browser)
            ga = _steady_genre(clf, heard, 2 * SEGMENT, 3 * SEGMENT)
            gb = _steady_genre(clf, heard, 3 * SEGMENT, 4 * SEGMENT)
            if ga and gb and ga != gb:
                return a, b, ga, gb
    raise RuntimeError("no two generated segments get two different, steady genres from the model after Opus")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _first_frames(log: Path) -> list[float]:
    return [float(m) for m in re.findall(r"live: first frame at ([\d.]+)", log.read_text(errors="replace"))]


def _verdict(page) -> str:
    for t in page.locator("div").filter(has_text=GENRE).all_inner_texts():
        if GENRE.match(t.strip()):
            return t.split()[0].lower()
    return ""


def _update_count(page) -> int:
    found = re.findall(r"update (\d+)", page.inner_text("body"))
    return int(found[0]) if found else 0


def listen(n_sessions: int, minutes: float, mic: Path, genres: tuple[str, str]) -> dict:
    from playwright.sync_api import sync_playwright

    from webapp.dev.serve import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app
    tmp = Path(tempfile.mkdtemp())
    log = tmp / "app.log"
    url, proc = start_app({**os.environ, "GENRE_COLLECTION": str(tmp / "c.sqlite"),
                           "GENRE_MODELS_DIR": str(tmp / "models")}, log)
    out: dict = {"sessions": n_sessions}
    try:
        with sync_playwright() as p:
            pages, browsers = [], []
            for _ in range(n_sessions):  # one browser per listener, like one phone each
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + [
                    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    f"--use-file-for-fake-audio-capture={mic}", "--autoplay-policy=no-user-gesture-required"])
                browsers.append(browser)
                ctx = browser.new_context(viewport={"width": 1300, "height": 900})
                ctx.grant_permissions(["microphone"], origin=url)
                page = ctx.new_page()
                page.goto(url)
                page.wait_for_selector("text=What genre is this?", timeout=120_000)
                page.get_by_role("link", name="Live").click()
                page.wait_for_selector("h1:has-text('Live')", timeout=60_000)
                pages.append(page)
            rss_start = rss_mb(proc.pid)
            for page in pages:
                page.frame_locator('iframe[title*="streamlit_webrtc"]').get_by_role("button", name="Start listening").click()
            deadline = time.time() + 60
            while len(_first_frames(log)) < n_sessions and time.time() < deadline:
                time.sleep(0.1)
            starts = _first_frames(log)[-n_sessions:]
            cpu0, wall0 = _cpu_seconds(proc.pid), time.time()
            updates0 = [_update_count(pg) for pg in pages]
            shown: list[list[tuple[float, str]]] = [[] for _ in pages]
            end = time.time() + minutes * 60
            warm_at, rss_warm = time.time() + min(60.0, minutes * 30), None
            while time.time() < end:
                if rss_warm is None and time.time() > warm_at:
                    rss_warm = rss_mb(proc.pid)
                for i, page in enumerate(pages):
                    shown[i].append((time.time(), _verdict(page)))
                time.sleep(0.1 if n_sessions == 1 else 0.25)
            out["cpu_share"] = round((_cpu_seconds(proc.pid) - cpu0) / (time.time() - wall0), 3)
            out["updates_per_minute"] = round(float(np.mean([(_update_count(pg) - u0) / minutes
                                                             for pg, u0 in zip(pages, updates0)])), 1)
            out["rss_start_mb"], out["rss_end_mb"] = round(rss_start), round(rss_mb(proc.pid))
            out["rss_warm_mb"] = round(rss_warm or out["rss_end_mb"])
            out["latencies_s"] = sorted(l for start, trace in zip(starts, shown) for l in _latencies(start, trace, genres))
            for browser in browsers:
                browser.close()
    finally:
        stop_app(proc)
    return out


ROOM_ARGS = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
             "--disable-backgrounding-occluded-windows", "--autoplay-policy=no-user-gesture-required"]


def _phone(page) -> None:
    """Mark a page as a phone: switch off "This screen is the projector" (on for the laptop itself)."""
    switch = page.locator("[data-testid=stCheckbox]").filter(has_text="This screen is the projector")
    for _ in range(5):
        if not switch.locator("input").is_checked():
            return
        switch.get_by_text("This screen is the projector").click()
        page.wait_for_timeout(1500)
    raise RuntimeError("could not mark a page as a phone")


def room(n_phones: int, minutes: float, mic: Path, genres: tuple[str, str], *, cap: int) -> dict:
    """The projector's page and ``n_phones`` phone pages, all in ONE headless Chromium (cheap: one
    browser process, pages kept rendering as phones would), listening for ``minutes``; then one more
    phone beyond ``cap``, then everyone leaves. The server's own CPU and memory are read from /proc."""
    from playwright.sync_api import sync_playwright

    from webapp.dev.serve import CHROMIUM, CHROMIUM_ARGS, open_live, start_app, stop_app
    tmp = Path(tempfile.mkdtemp())
    log = tmp / "app.log"
    url, proc = start_app({**os.environ, "GENRE_COLLECTION": str(tmp / "c.sqlite"), "GENRE_MAX_LISTENERS": str(cap),
                           "GENRE_MODELS_DIR": str(tmp / "models")}, log)
    out: dict = {"phones": n_phones, "cap": cap}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + ROOM_ARGS + [
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={mic}"])
            ctx = browser.new_context(viewport={"width": 1000, "height": 800})
            ctx.grant_permissions(["microphone"], origin=url)
            pages = []
            for i in range(n_phones + 1):
                page = ctx.new_page()
                open_live(page, url, timeout_ms=180_000)
                if i:
                    _phone(page)
                pages.append(page)
            rss_start = rss_mb(proc.pid)
            for page in pages:
                page.frame_locator('iframe[title*="streamlit_webrtc"]').get_by_role(
                    "button", name="Start listening").click()
            deadline = time.time() + 120
            while len(_first_frames(log)) < len(pages) and time.time() < deadline:
                time.sleep(0.2)
            starts = _first_frames(log)[-len(pages):]
            time.sleep(10)  # every stream and its worker pass settled
            cpu0, wall0 = _cpu_seconds(proc.pid), time.time()
            updates0 = [_update_count(pg) for pg in pages]
            shown: list[list[tuple[float, str]]] = [[] for _ in pages]
            end = time.time() + minutes * 60
            while time.time() < end:
                for i, page in enumerate(pages[:4]):  # the projector and three phones are watched closely
                    shown[i].append((time.time(), _verdict(page)))
                time.sleep(0.3)
            out["server_cpu_share"] = round((_cpu_seconds(proc.pid) - cpu0) / (time.time() - wall0), 3)
            per_minute = [(_update_count(pg) - u0) / minutes for pg, u0 in zip(pages, updates0)]
            out["projector_updates_per_minute"] = round(per_minute[0], 1)
            out["phone_updates_per_minute"] = round(float(np.mean(per_minute[1:])), 1) if n_phones else None
            lat = [_latencies(st, tr, genres) for st, tr in zip(starts[:4], shown[:4])]
            out["projector_latency_s"] = lat[0]
            out["phone_latency_s"] = sorted(x for l in lat[1:] for x in l)
            out["rss_start_mb"], out["rss_listening_mb"] = round(rss_start), round(rss_mb(proc.pid))
            extra = ctx.new_page()  # one phone more than the room holds
            open_live(extra, url, timeout_ms=180_000)
            out["phones_listening"] = len(re.findall(r"live: first frame", log.read_text(errors="replace"))) - 1
            asked = time.time()
            _phone(extra)
            try:
                extra.wait_for_selector("text=/The room is full/", timeout=60_000)
                out["cap_plus_one_message_s"] = round(time.time() - asked, 2)
            except Exception:  # noted, and the other figures are still printed
                out["cap_plus_one_message_s"] = "not within 60 s"
            for page in pages + [extra]:
                page.close()
            deadline = time.time() + 60
            while "still listening" in log.read_text(errors="replace") and time.time() < deadline:
                if log.read_text(errors="replace").rstrip().endswith("(0 still listening)"):
                    break
                time.sleep(0.5)
            time.sleep(60)  # sessions are released 30 s after their connection drops, memory handed back at 45 s
            out["rss_after_leaving_mb"] = round(rss_mb(proc.pid))
            browser.close()
    finally:
        stop_app(proc)
    return out


def _room_summary(r: dict, one: dict | None) -> str:
    n = r["phones"] + 1
    per = (f"; {(r['server_cpu_share'] - one['server_cpu_share']) / (n - 1):.1%} of one core per added listener"
           if one and n > 1 else "")
    lat, phone_lat = r["projector_latency_s"], r["phone_latency_s"]
    phone_text = f"median {np.median(phone_lat):.2f} s" if phone_lat else "-"
    return (f"{n} listeners (projector + {r['phones']} phones): server CPU {r['server_cpu_share']:.0%} of one core{per}; "
            f"projector {r['projector_updates_per_minute']} updates/min, latency "
            f"{(f'median {np.median(lat):.2f} s, max {max(lat):.2f} s' if lat else 'no change seen')}; phones "
            f"{r['phone_updates_per_minute']} updates/min, latency "
            f"{phone_text}; server memory "
            f"{r['rss_start_mb']} -> {r['rss_listening_mb']} MB listening "
            f"({(r['rss_listening_mb'] - r['rss_start_mb']) / n:.1f} MB per listener) -> {r['rss_after_leaving_mb']} MB "
            f"after everyone left; listener cap {r['cap']} ({r['phones_listening']} phones streaming): one more phone "
            f"told 'room is full' after {r['cap_plus_one_message_s']} s")


def _latencies(start: float, trace: list[tuple[float, str]], genres: tuple[str, str]) -> list[float]:
    """For every change of segment in the looped file, the time until the screen shows its genre."""
    out = []
    t_end = trace[-1][0]
    k = 1
    while start + k * SEGMENT < t_end - SEGMENT / 2:
        change = start + k * SEGMENT
        wanted = genres[k % 2]
        seen = next((t for t, g in trace if t >= change and g == wanted), None)
        before = [g for t, g in trace if change - 3 < t < change]
        if seen is not None and before and before[-1] != wanted:  # only changes the screen had to follow
            out.append(round(seen - change, 2))
        k += 1
    return out


def _summary(r: dict) -> str:
    lat = r["latencies_s"]
    text = (f"{r['sessions']} session(s): latency median {np.median(lat):.2f} s, max {max(lat):.2f} s over "
            f"{len(lat)} changes" if lat else f"{r['sessions']} session(s): no genre change seen")
    return (text + f"; {r['updates_per_minute']} updates/min per session; server CPU {r['cpu_share']:.0%} of one core; "
            f"server memory {r['rss_start_mb']} MB before Start -> {r['rss_warm_mb']} MB after the first minute -> "
            f"{r['rss_end_mb']} MB at the end")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=10.0, help="listening time of the single session (10)")
    p.add_argument("--sessions", type=int, default=4, help="listeners at once in the second run (4)")
    p.add_argument("--multi-minutes", type=float, default=2.0, help="listening time of the multi-session run (2)")
    p.add_argument("--room", type=int, nargs="*", default=None,
                   help="instead: a classroom of N listeners each (e.g. --room 1 8 16 30), all pages in one browser, "
                        "the first the projector, the others phones")
    args = p.parse_args(argv)
    a, b, ga, gb = _segments()
    mic = Path(tempfile.mkdtemp()) / "mic.wav"
    sf.write(mic, np.concatenate([a, b]), SR, subtype="PCM_16")
    print(f"segments: A heard as {ga}, B as {gb}; the fake microphone loops A+B ({2 * SEGMENT:g} s)", flush=True)
    if args.room:
        one = None
        for n in args.room:
            r = room(n - 1, args.multi_minutes, mic, (ga, gb), cap=n - 1)
            one = one or (r if n == 1 else None)
            print(_room_summary(r, one), flush=True)
        return 0
    print(_summary(listen(1, args.minutes, mic, (ga, gb))), flush=True)
    if args.sessions > 1:
        print(_summary(listen(args.sessions, args.multi_minutes, mic, (ga, gb))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
