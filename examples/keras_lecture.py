"""The lecture's KerasTuner example, run by hyperscout.

The lecture tunes a small convolutional network with ``kt.tuners.RandomSearch``. This is that
code with one changed line, ``import hyperscout as kt`` (was ``import keras_tuner as kt``), and
what the lecture leaves out filled in:

- ``import keras`` (Keras 3) instead of ``import tensorflow.keras as keras``; without
  TensorFlow, Keras runs on PyTorch (``use_default_backend()`` below sets
  ``KERAS_BACKEND=torch`` when no backend is configured);
- small data, so that it runs in seconds: scikit-learn's 8x8 images of digits instead of
  256x256 images, and 3 epochs instead of 10;
- the rest of the model where the lecture writes ``...``: a classifier head and ``compile``.

As in the lecture, ``search`` gets ``x_train, y_train, x_test, y_test``: the last two become
the validation data (``model.fit`` alone would read the third as ``batch_size``).

Run it::

    python examples/keras_lecture.py             # the study goes to a temporary folder
    python examples/keras_lecture.py output_dir  # ... or to this folder (run again: resume)
"""

from __future__ import annotations

import sys
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from hyperscout.integrations.keras import use_default_backend

use_default_backend()  # before Keras is imported: it picks the backend once

import keras  # noqa: E402 - after the backend is chosen

import hyperscout as kt  # noqa: E402 - the one changed line

output_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="keras-lecture-")

digits = load_digits()
images = (digits.images / 16.0).astype("float32")[..., np.newaxis]  # (1797, 8, 8, 1)
x_train, x_test, y_train, y_test = train_test_split(
    images, digits.target, test_size=0.25, random_state=0, stratify=digits.target
)


# hp is an object that contains all the hyperparameters
# it will be automatically passed by the tuner
def build_model(hp: kt.HyperParameters) -> keras.Model:
    model = keras.Sequential()
    # Create an integer hyperparameter, going from 10 to 100
    # We can also have hp.Float, hp.Choice, hp.Bool
    n_units = hp.Int("units", min_value=10, max_value=100, step_size=10)
    # Keras 3 prefers an Input to the lecture's input_shape= (which works, with a warning).
    model.add(keras.Input(shape=(8, 8, 1)))
    model.add(keras.layers.Conv2D(n_units, (3, 3), activation="relu"))
    model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(10, activation="softmax"))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


rs = kt.tuners.RandomSearch(
    build_model, objective="val_accuracy", max_trials=10, directory=output_dir
)

# Instead of calling model.fit we call tuner.search
rs.search(x_train, y_train, x_test, y_test, epochs=3, batch_size=32)

best_hyperparameter = rs.get_best_hyperparameters(1)[0]
best_model = rs.get_best_models(1)[0]

# We can now use a model with the best configuration for our task!
best_trial = rs.get_best_trials(1)[0]
print(f"Best hyperparameters: {dict(best_hyperparameter.values)}")
print(f"Best val_accuracy: {best_trial.value:.4f} (trial {best_trial.number})")
test_accuracy = best_model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
print(f"Best model's accuracy on the test data: {test_accuracy:.4f}")
predicted = best_model.predict(x_test[:10], verbose=0).argmax(axis=1)
print(f"Predicted digits: {predicted.tolist()}")
print(f"True digits:      {y_test[:10].tolist()}")
print(f"The study is in {rs.project_dir}")
rs.results_summary(3)
