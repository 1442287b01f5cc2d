"""The training pool and the honest plans: several data folders read as one, a GTZAN id is one
clip wherever it appears, no artist and no id on two sides of any split, the split's test part
never trained on."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from genre_model import synth
from genre_model.datasets import artist_group, find_clips_in, read_artists
from genre_model.fitting import clip_weights
from train.pool import assert_disjoint, build_pool, main_plan, optimistic_plan, split_plan
from train.splits import grouped_stratified_folds

GENRES = ("blues", "metal", "pop")


def _write(root: Path, genre: str, i: int, seconds: float) -> None:
    (root / genre).mkdir(parents=True, exist_ok=True)
    sf.write(root / genre / f"{genre}.{i:05d}.wav", synth.tone(200 + i, seconds, sr=8000), 8000)


@pytest.fixture
def gtzan_like(tmp_path) -> dict:
    """Two folders like the shared data: 'excerpts' (ids 0-5, 2 s) and 'snippets' (ids 3-11,
    1 s; ids 3-5 are also excerpts), an artist index (ids 0-5 of a genre one artist, the rest two
    ids per artist, id 11 blank) and split lists (id 10 in test, id 9 unlisted)."""
    excerpts, snippets = tmp_path / "excerpts", tmp_path / "snippets"
    lines, sides = [], {"train": [], "valid": [], "test": []}
    for g in GENRES:
        for i in range(6):
            _write(excerpts, g, i, 2.0)
        for i in range(3, 12):
            _write(snippets, g, i, 1.0)
        for i in range(12):
            artist = f"{g} star" if i < 6 else ("" if i == 11 else f"{g} band {i // 2}")
            lines.append(f"{g}.{i:05d}.wav ::: {artist} ::: song {i}")
            side = "test" if i == 10 else None if i == 9 else "valid" if i in (6, 7) else "train"
            if side:
                sides[side].append(f"{g}/{g}.{i:05d}")
    (tmp_path / "artists.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "splits").mkdir()
    for side, ids in sides.items():
        (tmp_path / "splits" / f"{side}_filtered.txt").write_text("\n".join(ids) + "\n")
    return {"folders": [excerpts, snippets], "artists": tmp_path / "artists.txt", "splits": tmp_path / "splits"}


def test_several_folders_are_one_dataset_and_an_id_is_one_clip(gtzan_like):
    clips = find_clips_in(gtzan_like["folders"])
    assert len(clips) == 3 * (6 + 9)
    # paths are relative to the folders' common parent, so a report resolves from one dataset folder
    assert {c.relpath.split("/")[0] for c in clips} == {"excerpts", "snippets"}
    assert {c.source for c in clips} == {"excerpts", "snippets"}
    ids = [c.clip_id for c in clips]
    assert ids.count("metal.00004") == 2 and len(set(ids)) == 3 * 12


def test_an_id_labelled_two_ways_is_refused(gtzan_like, tmp_path):
    other = tmp_path / "other"
    _write(other, "pop", 0, 1.0)
    (other / "blues").mkdir()
    (other / "pop" / "pop.00000.wav").rename(other / "blues" / "pop.00000.wav")
    with pytest.raises(ValueError, match="pop.00000 is labelled"):
        find_clips_in(gtzan_like["folders"] + [other])


def test_artist_index_groups_clips_and_blank_artists_stand_alone(gtzan_like):
    artists = read_artists(gtzan_like["artists"])
    assert artists["blues.00003"] == "blues star" and "blues.00011" not in artists
    assert artist_group("blues.00000", artists) == artist_group("blues.00005", artists)
    assert artist_group("blues.00011", artists) != artist_group("pop.00011", artists)


def test_the_split_test_part_and_unlisted_clips_never_enter_the_pool(gtzan_like):
    pool = build_pool(find_clips_in(gtzan_like["folders"]), split_dir=gtzan_like["splits"],
                      artists_file=gtzan_like["artists"])
    ids = set(pool.clip_ids)
    assert not any(i.endswith((".00010", ".00009")) for i in ids)
    assert pool.notes["excluded"]["test_part"]["n"] == 3 and pool.notes["excluded"]["not_in_split_lists"]["n"] == 3
    assert set(pool.sides) == {"train", "valid"}


@pytest.mark.parametrize("seed", range(4))
def test_artist_grouped_plans_never_put_an_artist_or_an_id_on_two_sides(gtzan_like, seed):
    pool = build_pool(find_clips_in(gtzan_like["folders"]), split_dir=gtzan_like["splits"],
                      artists_file=gtzan_like["artists"])
    for plan in (main_plan(pool, 3, seed), split_plan(pool, seed)):
        assert_disjoint(pool, plan)  # raises on a leak
        for stage in plan.stages:
            for a, b in ((stage.train, stage.test), (stage.val, stage.test), (stage.train, stage.val)):
                assert not {pool.groups[i] for i in a} & {pool.groups[i] for i in b}
                assert not {pool.clip_ids[i] for i in a} & {pool.clip_ids[i] for i in b}
    # k-fold tests every file exactly once
    tested = sorted(i for s in main_plan(pool, 3, seed).stages for i in s.test)
    assert tested == list(range(len(pool.clips)))


def test_the_same_artist_plan_is_the_leaky_one_it_claims_to_be(gtzan_like):
    pool = build_pool(find_clips_in(gtzan_like["folders"]), artists_file=gtzan_like["artists"])
    plan = optimistic_plan(pool, 3, 0)
    assert "optimistic" in plan.description
    assert_disjoint(pool, plan, artists=False)  # ids stay together ...
    with pytest.raises(AssertionError):
        assert_disjoint(pool, plan)  # ... artists do not


def test_grouped_folds_spread_each_label():
    labels = ["a"] * 20 + ["b"] * 20
    groups = [f"g{i // 2}" for i in range(40)]
    folds = grouped_stratified_folds(labels, groups, 4, seed=0)
    for f in range(4):
        members = [l for l, k in zip(labels, folds) if k == f]
        assert members.count("a") in (4, 6) and members.count("b") in (4, 6)


def test_clip_weights_give_every_clip_and_every_label_the_same_weight():
    # label x: one clip of 10 rows and one of 2; label y: one clip of 4 rows
    labels = ["x"] * 12 + ["y"] * 4
    clips = ["long"] * 10 + ["short"] * 2 + ["y1"] * 4
    w = clip_weights(labels, clips)
    per_clip = {c: w[np.array(clips) == c].sum() for c in set(clips)}
    assert per_clip["long"] == pytest.approx(per_clip["short"])
    assert per_clip["y1"] == pytest.approx(per_clip["long"] + per_clip["short"])
    assert w.sum() == pytest.approx(len(w))
