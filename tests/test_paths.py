"""Where a study lives on disk: safe project names, folders that cannot be created, and
checkpoint folders from which hyperscout deletes only what it made."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import hyperscout as hs
from hyperscout._paths import MARKER_FILE
from hyperscout.cli import main

NAME_RULE = (
    "expected one folder name of 1 to 100 letters, digits, '-', '_' and '.' (not '.' or '..')"
)


def space(hp: hs.HyperParameters) -> float:
    return hp.Float("x", 0, 1)


def checkpointing(hp: hs.HyperParameters, trial: hs.RunningTrial) -> float:
    """An objective that saves a checkpoint, as a training loop would."""
    x = hp.Float("x", 0, 1)
    (trial.checkpoint_dir / "weights.txt").write_text(f"{x}")
    return x


# -- item 1: never delete what hyperscout did not make -----------------------------------------
def test_a_new_tuner_keeps_the_users_file_in_the_checkpoints_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    os.makedirs("experiments/resnet/checkpoints")
    Path("experiments/resnet/checkpoints/pretrained.pt").write_bytes(b"weights")

    tuner = hs.RandomSearch(
        lambda hp: hp.Float("x", 0, 1), directory="experiments", project_name="resnet"
    )
    tuner.close()

    assert Path("experiments/resnet/checkpoints/pretrained.pt").read_bytes() == b"weights"


def test_trial_folders_sit_beside_the_users_file_and_a_new_study_removes_only_them(
    tmp_path: Path,
) -> None:
    checkpoints = tmp_path / "p" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "pretrained.pt").write_bytes(b"weights")
    options: dict[str, Any] = {"directory": tmp_path, "project_name": "p", "verbose": 0}
    with hs.RandomSearch(checkpointing, max_trials=2, seed=0, storage="memory", **options) as t:
        t.search()
    assert sorted(p.name for p in checkpoints.iterdir()) == [
        MARKER_FILE,
        "pretrained.pt",
        "trial_00000",
        "trial_00001",
    ]

    # Another study of the same name (a new in-memory storage): the old trial folders would
    # be read as its checkpoints, so they go; the user's file stays.
    with hs.RandomSearch(checkpointing, max_trials=1, seed=1, storage="memory", **options):
        pass

    assert sorted(p.name for p in checkpoints.iterdir()) == [MARKER_FILE, "pretrained.pt"]
    assert (checkpoints / "pretrained.pt").read_bytes() == b"weights"


def test_hyperscout_marks_the_checkpoints_folder_it_creates(tmp_path: Path) -> None:
    with hs.RandomSearch(
        checkpointing, max_trials=1, seed=0, directory=tmp_path, project_name="p", verbose=0
    ) as tuner:
        tuner.search()

    assert (tmp_path / "p" / "checkpoints" / MARKER_FILE).is_file()
    assert (tmp_path / "p" / "checkpoints" / "trial_00000" / "weights.txt").is_file()


def test_overwrite_deletes_hyperscouts_files_and_keeps_the_users(tmp_path: Path) -> None:
    options: dict[str, Any] = {"directory": tmp_path, "project_name": "p", "verbose": 0}
    with hs.RandomSearch(checkpointing, max_trials=3, seed=0, **options) as tuner:
        tuner.search()
    project = tmp_path / "p"
    (project / "checkpoints" / "pretrained.pt").write_bytes(b"weights")
    (project / "notes.txt").write_text("my notes")

    with hs.RandomSearch(checkpointing, max_trials=1, seed=0, overwrite=True, **options) as t:
        assert t.trials == []
        assert not list((project / "checkpoints").glob("trial_*"))
        t.search()
        assert len(t.trials) == 1

    assert (project / "checkpoints" / "pretrained.pt").read_bytes() == b"weights"
    assert (project / "notes.txt").read_text() == "my notes"
    assert sorted(p.name for p in (project / "checkpoints").glob("trial_*")) == ["trial_00000"]


def test_overwrite_of_a_study_without_marker_removes_its_trial_folders(tmp_path: Path) -> None:
    # A study written by a hyperscout without markers: its trial folders are its own.
    options: dict[str, Any] = {"directory": tmp_path, "project_name": "p", "verbose": 0}
    with hs.RandomSearch(checkpointing, max_trials=2, seed=0, **options) as tuner:
        tuner.search()
    checkpoints = tmp_path / "p" / "checkpoints"
    (checkpoints / MARKER_FILE).unlink()

    with hs.RandomSearch(checkpointing, max_trials=1, seed=0, overwrite=True, **options):
        pass

    assert sorted(p.name for p in checkpoints.iterdir()) == [MARKER_FILE]


def test_a_new_study_refuses_trial_folders_it_did_not_mark(tmp_path: Path) -> None:
    checkpoints = tmp_path / "p" / "checkpoints"
    (checkpoints / "trial_00000").mkdir(parents=True)
    (checkpoints / "trial_00000" / "model.pt").write_bytes(b"someone's")

    with pytest.raises(hs.InvalidArgumentError) as caught:
        hs.RandomSearch(space, directory=tmp_path, project_name="p", verbose=0)

    message = str(caught.value)
    assert f"{checkpoints} holds 1 trial folders (trial_00000, ...)" in message
    assert "Move them away" in message
    assert "another directory= or project_name=" in message
    assert (checkpoints / "trial_00000" / "model.pt").read_bytes() == b"someone's"


# -- item 2: project_name is one safe folder name ----------------------------------------------
@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../x", "'../../x'"),
        ("/tmp/abs", "'/tmp/abs'"),
        ("a/b", "'a/b'"),
        ("a\\b", "'a\\\\b'"),
        ("a\0b", "'a\\x00b'"),
        ("", "''"),
        (".", "'.'"),
        ("..", "'..'"),
        ("my project", "'my project'"),
        ("a" * 300, "'aaaaaaaaaaaaaaaaaaaa'... (300 characters)"),
        (3, "3"),
        (b"p", "b'p'"),
    ],
)
def test_an_unsafe_project_name_is_refused_before_anything_is_created(
    tmp_path: Path, name: Any, shown: str
) -> None:
    directory = tmp_path / "runs"
    expected = f"Tuner(project_name=...): {NAME_RULE}, got {shown}."

    with pytest.raises(hs.InvalidArgumentError, match=re.escape(expected)):
        hs.RandomSearch(space, directory=directory, project_name=name, verbose=0)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["resnet-50_v2.1", "a" * 100, "élan", ".hidden"])
def test_a_safe_project_name_is_a_folder_in_the_directory(tmp_path: Path, name: str) -> None:
    with hs.RandomSearch(space, directory=tmp_path, project_name=name, verbose=0) as tuner:
        assert tuner.project_name == name
    assert [p.name for p in tmp_path.iterdir()] == [name]
    assert (tmp_path / name / "hyperscout.db").is_file()


def test_no_project_name_is_untitled_project(tmp_path: Path) -> None:
    with hs.RandomSearch(space, directory=tmp_path, verbose=0) as tuner:
        assert tuner.project_name == "untitled_project"


def test_the_command_line_refuses_an_unsafe_project_name(tmp_path: Path) -> None:
    code = tmp_path / "objectives.py"
    code.write_text("def f(hp):\n    return hp.Float('x', 0, 1)\n")
    runs = tmp_path / "runs"
    args = ["run", f"{code}:f", "--directory", str(runs), "--project-name", "../escape"]

    result = CliRunner().invoke(main, args)

    assert result.exit_code == 1
    assert f"Error: Tuner(project_name=...): {NAME_RULE}, got '../escape'." in result.output
    assert not runs.exists()
    assert not (tmp_path / "escape").exists()


def test_searchcv_refuses_an_unsafe_project_name(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from hyperscout.integrations.sklearn import SearchCV

    search = SearchCV(
        LogisticRegression(), {"C": [0.1, 1.0]}, directory=tmp_path, project_name="../x"
    )
    x, y = load_iris(return_X_y=True)
    expected = f"SearchCV(project_name=...): {NAME_RULE}, got '../x'."

    with pytest.raises(hs.InvalidArgumentError, match=re.escape(expected)):
        search.fit(x, y)
    assert list(tmp_path.iterdir()) == []


# -- folders that cannot be created ------------------------------------------------------------
def test_a_directory_behind_a_file_is_refused_with_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "runs").write_text("not a folder")

    with pytest.raises(hs.InvalidArgumentError) as caught:
        hs.RandomSearch(space, directory=tmp_path / "runs", project_name="p", verbose=0)

    assert str(caught.value) == (
        f"RandomSearch(directory={str(tmp_path / 'runs')!r}): cannot create the folder "
        f"{tmp_path / 'runs' / 'p'}: {tmp_path / 'runs'} is a file, not a folder. Choose a "
        "folder that can be created there, or move what is in the way."
    )


def test_an_sqlite_url_whose_folder_cannot_be_created_is_refused_with_a_sentence(
    tmp_path: Path,
) -> None:
    (tmp_path / "runs").write_text("not a folder")
    url = f"sqlite:///{tmp_path}/runs/sub/study.db"

    with pytest.raises(hs.InvalidArgumentError) as caught:
        hs.RandomSearch(space, storage=url, project_name="p", verbose=0)

    assert str(caught.value) == (
        f"SQLStorage(url={url!r}): cannot create the folder {tmp_path / 'runs' / 'sub'}: "
        f"{tmp_path / 'runs'} is a file, not a folder. Choose a folder that can be created "
        "there, or move what is in the way."
    )


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_a_directory_without_permission_is_refused_with_a_sentence(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(hs.InvalidArgumentError, match=r"cannot create the folder .*denied"):
            hs.RandomSearch(space, directory=locked / "runs", project_name="p", verbose=0)
    finally:
        locked.chmod(0o700)


def test_a_checkpoints_path_taken_by_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "checkpoints").write_text("a file")

    with pytest.raises(hs.InvalidArgumentError, match=r"the checkpoints folder .* is a file"):
        hs.RandomSearch(space, directory=tmp_path, project_name="p", verbose=0)
    assert (tmp_path / "p" / "checkpoints").read_text() == "a file"
