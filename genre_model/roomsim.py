"""Room simulation: music played from a speaker and recorded by a laptop or phone in a room, with
the room's own sounds around it. Used to train and test models for classroom use.

Signal chain of one simulated recording (:func:`simulate_room`): speaker saturation -> room
impulse response (direct sound plus an exponentially decaying diffuse tail) -> background sound
at a chosen signal-to-noise ratio -> the microphone's band (a phone's high-pass included) ->
the device's automatic gain control and limiter -> a random overall level.

Two profiles draw the conditions (:func:`draw_conditions`):

- ``"mic"``: a varied but fair recording: RT60 0.15-1.2 s, band 80-300 Hz to 3.5-8 kHz, stationary
  noise (white, pink, brown, mains hum) or babble at 5-30 dB SNR.
- ``"noisy-room"``: a classroom: babble of 2-8 overlapping voices, a crowd, clatter (chairs,
  cups, bags), or all at once, at 0-15 dB SNR; often a phone's high-pass (250-500 Hz); automatic
  gain control and limiting most of the time.

Babble is built from a :class:`SpeechPool`: recorded voices when given, else generated speech-like
voices (:func:`genre_model.synth.speech_like`), so nothing here needs recorded data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from scipy import signal

from . import synth

STATIONARY_NOISES = ("white", "pink", "brown", "hum")
ROOM_NOISES = ("babble", "crowd", "clatter", "classroom")
NOISE_KINDS = STATIONARY_NOISES + ROOM_NOISES
PROFILES = ("mic", "noisy-room")


@dataclass(frozen=True)
class RoomConditions:
    rt60: float
    direct_to_reverb_db: float
    low_hz: float
    high_hz: float
    filter_order: int
    drive: float
    noise: str
    snr_db: float
    level_db: float
    voices: int = 0        # talkers in babble, crowd and classroom noise
    agc: bool = False      # automatic gain control + limiter, as phones and browsers apply

    def to_dict(self) -> dict:
        return asdict(self)


class SpeechPool:
    """Voices to build babble from: a list of mono float32 recordings at one sample rate."""

    def __init__(self, voices: list[np.ndarray], sr: int):
        voices = [v.astype(np.float32) for v in voices if len(v) > sr // 2]
        if not voices:
            raise ValueError("a speech pool needs at least one voice of 0.5 s or more")
        self.voices = [v / (np.sqrt(np.mean(v ** 2)) + 1e-9) for v in voices]  # unit RMS each
        self.sr = sr

    def talker(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` samples of one talker: random voices from random offsets, with short pauses."""
        out = np.zeros(n, dtype=np.float32)
        pos = int(rng.uniform(0, 0.5) * self.sr)
        while pos < n:
            v = self.voices[int(rng.integers(len(self.voices)))]
            start = int(rng.integers(0, max(1, len(v) - self.sr)))
            piece = v[start:start + int(rng.uniform(1.0, 4.0) * self.sr)]
            take = min(len(piece), n - pos)
            out[pos:pos + take] = piece[:take]
            pos += take + int(rng.uniform(0.05, 0.6) * self.sr)
        return out


@lru_cache(maxsize=4)
def generated_speech(sr: int, talkers: int = 8, seconds: float = 12.0) -> SpeechPool:
    """A pool of generated speech-like voices (different pitch and timing per talker)."""
    return SpeechPool([synth.speech_like(seconds, sr=sr, seed=1000 + i) for i in range(talkers)], sr)


def draw_conditions(sr: int, rng: np.random.Generator, profile: str = "mic",
                    snr_db: tuple[float, float] | None = None) -> RoomConditions:
    """Random conditions of a ``profile`` (see the module docstring); ``snr_db`` overrides its SNR range."""
    if profile not in PROFILES:
        raise ValueError(f"unknown room profile {profile!r} (choose from {', '.join(PROFILES)})")
    room = dict(rt60=float(rng.uniform(0.15, 1.2)), direct_to_reverb_db=float(rng.uniform(-6, 12)),
                filter_order=int(rng.integers(2, 5)), drive=float(rng.uniform(1.0, 4.0)),
                level_db=float(rng.uniform(-20, -1)))
    if profile == "mic":
        low, high = snr_db or (5.0, 30.0)
        noise = str(rng.choice(STATIONARY_NOISES + ("babble",)))
        return RoomConditions(**room, low_hz=float(rng.uniform(80, 300)),
                              high_hz=float(min(rng.uniform(3500, 8000), 0.45 * sr)), noise=noise,
                              snr_db=float(rng.uniform(low, high)), voices=3 if noise == "babble" else 0)
    low, high = snr_db or (0.0, 15.0)
    noise = str(rng.choice(ROOM_NOISES))
    phone = rng.random() < 0.5
    return RoomConditions(**room, low_hz=float(rng.uniform(250, 500) if phone else rng.uniform(80, 250)),
                          high_hz=float(min(rng.uniform(3500, 8000), 0.45 * sr)), noise=noise,
                          snr_db=float(rng.uniform(low, high)),
                          voices=int(rng.integers(10, 21) if noise == "crowd" else rng.integers(2, 9)),
                          agc=bool(rng.random() < 0.75))


def room_impulse_response(sr: int, rt60: float, direct_to_reverb_db: float, rng: np.random.Generator) -> np.ndarray:
    length = int(sr * min(1.5, rt60 * 1.2))
    t = np.arange(length) / sr
    tail = rng.standard_normal(length) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail = signal.lfilter([1.0], [1.0, -rng.uniform(0.0, 0.7)], tail)  # walls absorb highs
    tail[: int(sr * rng.uniform(0.002, 0.02))] = 0.0  # pre-delay before the first reflections
    tail /= np.sqrt(np.sum(tail ** 2)) + 1e-12
    tail[0] += 10 ** (direct_to_reverb_db / 20)  # the direct sound
    return tail / np.abs(tail).max()


def _coloured(n: int, kind: str, sr: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "hum":
        f0 = rng.choice([50.0, 60.0])
        t = np.arange(n) / sr
        return sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6)) + 0.1 * rng.standard_normal(n)
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)
    freqs = np.maximum(np.fft.rfftfreq(n, 1 / sr), 1.0)
    spectrum /= np.sqrt(freqs) if kind == "pink" else freqs
    return np.fft.irfft(spectrum, n)


def _clatter(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Knocks, scrapes and clinks: short resonant noise bursts at 0.5-4 per second."""
    out = np.zeros(n + sr // 2)
    for start in rng.uniform(0, n / sr, size=max(1, int(rng.uniform(0.5, 4.0) * n / sr))):
        m = int(rng.uniform(0.01, 0.3) * sr)
        burst = rng.standard_normal(m) * np.exp(-np.arange(m) / (m / rng.uniform(3, 8)))
        centre = rng.uniform(200, 0.4 * sr)
        sos = signal.butter(2, [centre / 1.5, min(centre * 1.5, 0.49 * sr)], btype="bandpass", fs=sr, output="sos")
        s = int(start * sr)
        out[s:s + m] += signal.sosfilt(sos, burst) * 10 ** rng.uniform(-1, 0)
    return out[:n]


def babble(n: int, voices: int, rng: np.random.Generator, speech: SpeechPool) -> np.ndarray:
    """``voices`` overlapping talkers, each at its own level (within 10 dB)."""
    return sum(speech.talker(n, rng) * 10 ** (rng.uniform(-5, 5) / 20) for _ in range(max(1, voices)))


def make_noise(n: int, kind: str, sr: int, rng: np.random.Generator, *, voices: int = 4,
               speech: SpeechPool | None = None) -> np.ndarray:
    """``n`` samples of background sound of one of :data:`NOISE_KINDS` (any level)."""
    if kind in STATIONARY_NOISES:
        return _coloured(n, kind, sr, rng)
    if kind == "clatter":
        return _clatter(n, sr, rng)
    pool = speech or generated_speech(sr)
    talk = babble(n, voices, rng, pool)
    if kind == "crowd":  # many distant talkers: the room's reverb and distance take the highs
        talk = signal.sosfilt(signal.butter(2, min(2500, 0.45 * sr), fs=sr, output="sos"), talk)
    if kind == "classroom":
        clatter = _clatter(n, sr, rng)
        talk = talk / (np.std(talk) + 1e-12) + 0.5 * clatter / (np.std(clatter) + 1e-12)
    return talk


def auto_gain(x: np.ndarray, sr: int, *, target_db: float = -18.0, max_gain_db: float = 30.0) -> np.ndarray:
    """A device's automatic gain control (fast attack, slow release, bounded gain) and a soft
    limiter: quiet passages come up, loud ones go down, peaks are squashed below 1."""
    frame = max(1, int(0.02 * sr))
    n_frames = int(np.ceil(len(x) / frame))
    padded = np.pad(x, (0, n_frames * frame - len(x)))
    rms = np.sqrt(np.mean(padded.reshape(n_frames, frame) ** 2, axis=1) + 1e-12)
    env = np.empty_like(rms)
    level = rms[0]
    for i, r in enumerate(rms):  # one-pole follower: ~20 ms up, ~1 s down
        level = r if r > level else 0.98 * level + 0.02 * r
        env[i] = level
    gain = np.minimum(10 ** (target_db / 20) / env, 10 ** (max_gain_db / 20))
    y = x * np.interp(np.arange(len(x)), np.arange(n_frames) * frame + frame / 2, gain)
    knee = 0.7
    over = np.abs(y) > knee
    y[over] = np.sign(y[over]) * (knee + (1 - knee) * np.tanh((np.abs(y[over]) - knee) / (1 - knee)))
    return y


# One fixed, moderate condition (reverb, a 150 Hz-7 kHz band, pink noise at 20 dB SNR) to compare
# models against: evaluation only, never tuned on.
REFERENCE_CONDITIONS = RoomConditions(rt60=0.5, direct_to_reverb_db=3.0, low_hz=150.0, high_hz=7000.0,
                                      filter_order=4, drive=1.0, noise="pink", snr_db=20.0, level_db=-6.0)


def simulate_room(y: np.ndarray, sr: int, rng: np.random.Generator, conditions: RoomConditions | None = None, *,
                  profile: str = "mic", snr_db: tuple[float, float] | None = None,
                  speech: SpeechPool | None = None) -> tuple[np.ndarray, RoomConditions]:
    """A simulated room recording of ``y`` (mono float32 at ``sr``): same length, float32, within
    [-1, 1], and the conditions used (drawn from ``rng`` for ``profile`` unless given)."""
    c = conditions or draw_conditions(sr, rng, profile, snr_db)
    x = y.astype(np.float64)
    x = np.tanh(c.drive * x / (np.abs(x).max() + 1e-12)) / np.tanh(c.drive)  # a small speaker pushed hard
    x = signal.fftconvolve(x, room_impulse_response(sr, c.rt60, c.direct_to_reverb_db, rng))[: len(y)]
    noise = make_noise(len(x), c.noise, sr, rng, voices=c.voices, speech=speech)
    p_sig, p_noise = np.mean(x ** 2), np.mean(noise ** 2) + 1e-12
    x = x + noise * np.sqrt(p_sig / (p_noise * 10 ** (c.snr_db / 10)))
    sos = signal.butter(c.filter_order, [c.low_hz, c.high_hz], btype="bandpass", fs=sr, output="sos")
    x = signal.sosfilt(sos, x)
    if c.agc:
        x = auto_gain(x, sr)
    return (10 ** (c.level_db / 20) * x / (np.abs(x).max() + 1e-12)).astype(np.float32), c


def background_only(n: int, sr: int, rng: np.random.Generator, *, speech: SpeechPool | None = None) -> np.ndarray:
    """A recording of a noisy room with no music in it (talk, crowd or clatter through a device),
    for teaching a model what "no music here" sounds like."""
    silent = np.zeros(n, dtype=np.float32)
    c = draw_conditions(sr, rng, "noisy-room")
    noise = make_noise(n, c.noise, sr, rng, voices=c.voices, speech=speech)
    noise = signal.fftconvolve(noise, room_impulse_response(sr, c.rt60, c.direct_to_reverb_db, rng))[:n]
    noise = signal.sosfilt(signal.butter(c.filter_order, [c.low_hz, c.high_hz], btype="bandpass", fs=sr,
                                         output="sos"), noise)
    if c.agc:
        noise = auto_gain(noise, sr)
    out = silent + 10 ** (c.level_db / 20) * noise / (np.abs(noise).max() + 1e-12)
    return out.astype(np.float32)


def talk(n: int, sr: int, rng: np.random.Generator, *, speech: SpeechPool) -> np.ndarray:
    """One person talking (a teacher, a read text), for teaching a model what "mostly talk" sounds
    like: clean or through a room with a class chatting under it, and half the time with faint music
    (10-25 dB below the voice) that does not make it music."""
    x = speech.talker(n, rng)
    if rng.random() < 0.5:
        music = synth.music_like(n / sr, sr=sr, seed=int(rng.integers(1 << 30)), bpm=float(rng.uniform(70, 160)))[:n]
        gain = np.sqrt(np.mean(x ** 2) / (np.mean(music ** 2) + 1e-12)) * 10 ** (-rng.uniform(10, 25) / 20)
        x = x + gain * np.pad(music, (0, n - len(music)))
    if rng.random() < 0.6:
        x, _ = simulate_room(x.astype(np.float32), sr, rng, profile="mic", speech=speech)
    return (x / (np.abs(x).max() + 1e-9) * 10 ** (rng.uniform(-20, -3) / 20)).astype(np.float32)


def not_music(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A sound that is neither music nor people: a test tone, two tones, a sweep, beeps, stationary
    noise or mains hum, sometimes through a room and a device. For teaching a model what "unlike
    music" sounds like (talk and room noise are :func:`background_only`)."""
    t = np.arange(n) / sr
    kind = str(rng.choice(["tone", "two tones", "sweep", "beeps", "noise", "hum"]))
    if kind == "tone":
        f = rng.uniform(80, 4000)
        x = np.sin(2 * np.pi * f * t * (1 + 0.003 * np.sin(2 * np.pi * rng.uniform(0, 6) * t)))
    elif kind == "two tones":
        x = np.sin(2 * np.pi * rng.uniform(100, 2000) * t) + np.sin(2 * np.pi * rng.uniform(100, 2000) * t)
    elif kind == "sweep":
        f0, f1 = sorted(rng.uniform(50, 0.45 * sr, size=2))
        x = signal.chirp(t, f0, t[-1], f1, method=str(rng.choice(["linear", "logarithmic"])))
    elif kind == "beeps":
        on = (np.floor(t * rng.uniform(0.5, 4)) % 2) == 0
        x = np.sin(2 * np.pi * rng.choice([440.0, 800.0, 1000.0, 2000.0]) * t) * on
    elif kind == "noise":
        x = _coloured(n, str(rng.choice(["white", "pink", "brown"])), sr, rng)
    else:
        x = _coloured(n, "hum", sr, rng)
    x = x / (np.abs(x).max() + 1e-12) * 10 ** (rng.uniform(-40, -3) / 20)
    if rng.random() < 0.5:  # heard through a room and a device
        c = draw_conditions(sr, rng, "mic")
        x = signal.fftconvolve(x, room_impulse_response(sr, c.rt60, c.direct_to_reverb_db, rng))[:n]
        x = signal.sosfilt(signal.butter(c.filter_order, [c.low_hz, c.high_hz], btype="bandpass", fs=sr,
                                         output="sos"), x)
        x = x / (np.abs(x).max() + 1e-12) * 10 ** (c.level_db / 20)
    return x.astype(np.float32)
