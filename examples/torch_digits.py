"""Tune a small PyTorch CNN on scikit-learn's 8x8 digits with Hyperband.

The objective is a plain function ``(hp, trial)``: it builds the network from ``hp``, trains
it for ``trial.budget`` epochs, reports ``val_loss`` and ``val_accuracy`` after each epoch,
and saves its state with :func:`~hyperscout.integrations.torch.save_checkpoint`. When
Hyperband promotes a configuration to more epochs, the new trial continues from that
checkpoint (:func:`~hyperscout.integrations.torch.load_checkpoint`) instead of starting
over. At the end the best trial's network is rebuilt and its weights reloaded
(:func:`~hyperscout.integrations.torch.load_best_model`), then scored on a test split that
the search never saw.

Run it (about 15 seconds on two cores; needs ``pip install 'hyperscout[torch,sklearn]'``)::

    python examples/torch_digits.py                  # the study goes to a temporary folder
    python examples/torch_digits.py hyperscout_runs  # ... or to this folder (run again: resume)
"""

from __future__ import annotations

import sys
import tempfile
from typing import Any

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import hyperscout as hs
from hyperscout.integrations.torch import load_best_model, load_checkpoint, save_checkpoint

MAX_EPOCHS = 9  # Hyperband's rungs: 1, 3 and 9 epochs
SEED = 0

Split = tuple[torch.Tensor, torch.Tensor]


def load_data() -> dict[str, Split]:
    """Digits as 1x8x8 images in [0, 1]: 60 % train, 20 % validation, 20 % test."""
    x, y = load_digits(return_X_y=True)
    x = (np.asarray(x, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)
    x_dev, x_test, y_dev, y_test = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=SEED
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_dev, y_dev, test_size=0.25, stratify=y_dev, random_state=SEED
    )
    return {
        name: (torch.from_numpy(xs), torch.from_numpy(np.asarray(ys, dtype=np.int64)))
        for name, xs, ys in [
            ("train", x_train, y_train),
            ("val", x_val, y_val),
            ("test", x_test, y_test),
        ]
    }


def build_model(hp: hs.HyperParameters) -> nn.Module:
    """Two convolutions (8x8 -> 4x4 -> 2x2), then a dense layer with dropout."""
    filters = hp.Int("filters", 8, 32, step=8)
    units = hp.Int("units", 32, 128, step=32)
    dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
    torch.manual_seed(SEED)  # the same configuration starts from the same weights
    return nn.Sequential(
        nn.Conv2d(1, filters, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(filters, 2 * filters, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * filters * 2 * 2, units),
        nn.ReLU(),
        nn.Dropout(dropout),
        nn.Linear(units, 10),
    )


def evaluate(model: nn.Module, split: Split) -> dict[str, float]:
    x, y = split
    model.eval()
    with torch.no_grad():
        logits = model(x)
    return {
        "loss": float(nn.functional.cross_entropy(logits, y)),
        "accuracy": float((logits.argmax(dim=1) == y).float().mean()),
    }


def objective(
    hp: hs.HyperParameters, trial: hs.RunningTrial, data: dict[str, Split]
) -> dict[str, float]:
    model = build_model(hp)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=hp.Float("learning_rate", 1e-4, 3e-2, sampling="log")
    )
    batch_size = hp.Choice("batch_size", [32, 64, 128])
    x_train, y_train = data["train"]

    epochs = trial.budget or MAX_EPOCHS  # None under a strategy without budgets
    epoch = load_checkpoint(trial, model, optimizer)  # promoted: go on from the lower rung
    metrics: dict[str, float] = {}
    while epoch < epochs:
        model.train()
        # Seeded by the epoch: a promoted trial sees the batches it would have seen anyway.
        order = torch.randperm(len(y_train), generator=torch.Generator().manual_seed(epoch))
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[index]), y_train[index]).backward()
            optimizer.step()
        epoch += 1
        val = evaluate(model, data["val"])
        metrics = {"val_loss": val["loss"], "val_accuracy": val["accuracy"]}
        trial.report(epoch, **metrics)
        if trial.should_stop():
            break
    save_checkpoint(trial, model, optimizer, epoch=epoch)
    return metrics


def main(directory: str) -> Any:
    # Tiny networks: one thread is fastest; more only wait on each other (and on two shared
    # cores, measured up to ten times slower).
    torch.set_num_threads(1)
    data = load_data()
    tuner = hs.Hyperband(
        objective,
        objective="val_loss",
        max_epochs=MAX_EPOCHS,
        factor=3,
        seed=SEED,
        directory=directory,
        project_name="torch_digits",
    )
    with tuner:
        tuner.search(data)  # arguments after hp and trial go to the objective
        tuner.results_summary(5)
        best = tuner.get_best_trials(1)[0]
        print(f"Best val_loss: {best.value:.4f} (trial {best.number}, {best.budget:g} epochs)")
        print("Best values:")
        for name, value in best.values.items():
            print(f"  {name} = {value!r}")

        model = load_best_model(tuner, build_model)  # rebuilt, weights reloaded, eval mode
        test = evaluate(model, data["test"])
        print(f"Test accuracy of the reloaded best model: {test['accuracy']:.4f}")
        print(f"The study and checkpoints are in {tuner.project_dir}.")
    return model


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="hyperscout_"))
