"""The hyperscout quickstart: a random search on a synthetic objective, in one file.

The objective stands in for "build a model, train it, evaluate it": it declares its
hyperparameters through ``hp`` where it uses them, including a dropout rate that exists only
when dropout is on, and returns the validation metrics of the "trained model".

Run it::

    python examples/quickstart.py                  # the study goes to a temporary folder
    python examples/quickstart.py hyperscout_runs  # ... or to this folder (run again: resume)

then look at the study with ``hyperscout show <folder>/quickstart``.
"""

from __future__ import annotations

import math
import sys
import tempfile

import hyperscout as hs


def build_and_train(hp: hs.HyperParameters) -> dict[str, float]:
    """A stand-in for training a model: smooth metrics with a known best configuration."""
    x = hp.Float("x", -5.0, 10.0)
    lr = hp.Float("lr", 1e-5, 1e-1, sampling="log")
    units = hp.Int("units", 16, 256, step=16)
    activation = hp.Choice("activation", ["relu", "tanh", "gelu"])
    rate = 0.0
    if hp.Boolean("dropout"):
        with hp.conditional_scope("dropout", [True]):
            rate = hp.Float("rate", 0.1, 0.5, step=0.1)  # exists only when dropout is on

    # The best model: x = 2, lr = 1e-3, 128 units, relu, dropout at rate 0.2.
    val_loss = (
        ((x - 2.0) / 5.0) ** 2
        + (math.log10(lr) + 3.0) ** 2 / 8.0
        + ((units - 128) / 128) ** 2
        + {"relu": 0.0, "gelu": 0.02, "tanh": 0.05}[activation]
        + ((rate - 0.2) ** 2 if rate else 0.05)
    )
    return {"val_loss": val_loss, "val_accuracy": 1.0 / (1.0 + val_loss)}


def main(directory: str) -> None:
    tuner = hs.RandomSearch(
        build_and_train,
        objective="val_accuracy",  # maximised: the direction is inferred from the name
        max_trials=30,
        seed=0,
        directory=directory,
        project_name="quickstart",
    )
    tuner.search()

    best_hp = tuner.get_best_hyperparameters(1)[0]
    best_trial = tuner.get_best_trials(1)[0]
    print(f"Best val_accuracy: {best_trial.value:.4f} (trial {best_trial.number})")
    print("Best values:")
    for name, value in best_hp.values.items():
        print(f"  {name} = {value!r}")
    tuner.results_summary(5)
    print(f"The study is saved in {tuner.project_dir}; run again with this folder to resume.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="hyperscout_"))
