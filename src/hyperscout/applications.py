"""Ready-made image-classifier hypermodels, as KerasTuner's ``keras_tuner.applications``.

``from keras_tuner.applications import HyperResNet`` becomes
``from hyperscout.applications import HyperResNet`` (or ``kt.applications.HyperResNet`` after
``import hyperscout as kt``), and the rest of the code stays:

.. code-block:: python

    hypermodel = kt.applications.HyperResNet(input_shape=(32, 32, 3), classes=10)
    tuner = kt.RandomSearch(hypermodel, objective="val_accuracy", max_trials=10)
    tuner.search(x_train, y_train_one_hot, validation_data=(x_val, y_val_one_hot), epochs=5)

Both compile with ``categorical_crossentropy`` as KerasTuner's do, so the labels are one-hot
(``keras.utils.to_categorical(y)``); pass ``loss="sparse_categorical_crossentropy"`` for
integer labels. The weights start random (nothing is downloaded).

- :class:`HyperResNet` builds the ResNets of ``keras.applications`` (50, 101 or 152 layers,
  version 1 or 2) and tunes depth, version, pooling, optimizer and learning rate.
- :class:`HyperXception` builds an Xception-style network (separable convolutions in residual
  blocks) whose width and depth are tuned, as KerasTuner's does; ``keras.applications``'
  Xception has a fixed size and needs images of at least 71x71.

KerasTuner's ``HyperEfficientNet`` (ImageNet weights, downloaded) and ``HyperImageAugment`` are
not provided: importing them raises an ImportError that says what to use instead. Keras is
imported only when a model is built.
"""

from __future__ import annotations

from typing import Any

from hyperscout.exceptions import InvalidArgumentError, require
from hyperscout.hypermodel import HyperModel
from hyperscout.space import HyperParameters

__all__ = ["HyperResNet", "HyperXception"]

# keras.applications' constructors by (version, depth).
_RESNETS = {
    ("v1", 50): "ResNet50",
    ("v1", 101): "ResNet101",
    ("v1", 152): "ResNet152",
    ("v2", 50): "ResNet50V2",
    ("v2", 101): "ResNet101V2",
    ("v2", 152): "ResNet152V2",
}
_NOT_PROVIDED = {
    "HyperEfficientNet": (
        "it fine-tunes ImageNet weights that are downloaded; write a build_model(hp) around "
        "keras.applications.EfficientNetB0 (weights='imagenet', include_top=False) instead"
    ),
    "HyperImageAugment": (
        "put the augmentation layers you want to tune (keras.layers.RandomRotation, "
        "RandomTranslation, RandomContrast with hp.Float factors) at the start of your "
        "build_model(hp) instead"
    ),
}


def __getattr__(name: str) -> Any:
    if name in _NOT_PROVIDED:
        raise ImportError(
            f"hyperscout.applications has HyperResNet and HyperXception; {name} is not "
            f"provided: {_NOT_PROVIDED[name]}.",
            name=name,
        )
    raise AttributeError(f"module 'hyperscout.applications' has no attribute {name!r}")


def _keras() -> Any:
    from hyperscout.integrations.keras import use_default_backend

    use_default_backend()
    return require("keras", feature="hyperscout.applications", extra="keras")


class _ImageClassifier(HyperModel):
    """What both hypermodels share: the input, the classifier's checks and the compilation."""

    def __init__(
        self,
        include_top: bool = True,
        input_shape: tuple[int, ...] | None = None,
        input_tensor: Any = None,
        classes: int | None = None,
        *,
        loss: str = "categorical_crossentropy",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)  # name=, as KerasTuner's hypermodels take
        owner = type(self).__name__
        if include_top and (
            isinstance(classes, bool) or not isinstance(classes, int) or classes < 2
        ):
            raise InvalidArgumentError(
                f"{owner}(classes=...): expected the number of classes (an int >= 2) with "
                f"include_top=True, got {classes!r}."
            )
        if input_shape is None and input_tensor is None:
            raise InvalidArgumentError(
                f"{owner}(input_shape=...): expected the image shape, e.g. (32, 32, 3), or an "
                "input_tensor=; got neither."
            )
        if input_shape is not None and (
            len(input_shape) != 3 or not all(isinstance(d, int) and d > 0 for d in input_shape)
        ):
            raise InvalidArgumentError(
                f"{owner}(input_shape=...): expected (height, width, channels), got "
                f"{input_shape!r}."
            )
        self.include_top = include_top
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.input_tensor = input_tensor
        self.classes = classes
        self.loss = loss

    def _inputs(self, keras: Any) -> tuple[Any, Any]:
        """The model's inputs and the tensor the network starts from."""
        if self.input_tensor is not None:
            return keras.utils.get_source_inputs(self.input_tensor), self.input_tensor
        inputs = keras.Input(shape=self.input_shape)
        return inputs, inputs

    def _finish(self, keras: Any, inputs: Any, features: Any, optimizer: Any, name: str) -> Any:
        """The classifier on ``features``, compiled; or the feature extractor alone."""
        if not self.include_top:
            return keras.Model(inputs, features, name=name)
        outputs = keras.layers.Dense(self.classes, activation="softmax", name="probs")(features)
        model = keras.Model(inputs, outputs, name=name)
        model.compile(optimizer=optimizer, loss=self.loss, metrics=["accuracy"])
        return model


class HyperResNet(_ImageClassifier):
    """ResNet image classifiers from ``keras.applications``, with their shape tuned.

    Args:
        include_top: put a softmax classifier over ``classes`` on top and compile the model
            (False: the pooled features, uncompiled, to build on).
        input_shape: ``(height, width, channels)``, at least 32x32; or give ``input_tensor``.
        input_tensor: a Keras tensor (``keras.Input(...)``) to start from.
        classes: the number of classes (with ``include_top``).
        loss: ``"categorical_crossentropy"`` (KerasTuner's: one-hot labels), or any Keras
            loss, e.g. ``"sparse_categorical_crossentropy"`` for integer labels.
        **kwargs: :class:`~hyperscout.HyperModel`'s (``name``).

    Hyperparameters (KerasTuner's names where they mean the same):

    ============== =========================== =========
    name           values                      default
    ============== =========================== =========
    version        ``"v1"``, ``"v2"``          ``"v2"``
    depth          50, 101, 152 (layers)       50
    pooling        ``"avg"``, ``"max"``        ``"avg"``
    optimizer      adam, rmsprop, sgd          adam
    learning_rate  0.1, 0.01, 0.001            0.01
    ============== =========================== =========

    KerasTuner's ResNeXt version and its ``conv3_depth``/``conv4_depth`` become ``depth``:
    the block counts of the published 50-, 101- and 152-layer networks.

    >>> hypermodel = HyperResNet(input_shape=(32, 32, 3), classes=10)
    >>> hypermodel.classes
    10
    """

    def build(self, hp: HyperParameters) -> Any:
        keras = _keras()
        version = hp.Choice("version", ["v1", "v2"], default="v2")
        depth = hp.Choice("depth", [50, 101, 152], default=50)
        pooling = hp.Choice("pooling", ["avg", "max"], default="avg")
        inputs, start = self._inputs(keras)
        network = getattr(keras.applications, _RESNETS[(version, depth)])
        backbone = network(include_top=False, weights=None, input_tensor=start, pooling=pooling)
        optimizer = None
        if self.include_top:
            name = hp.Choice("optimizer", ["adam", "rmsprop", "sgd"], default="adam")
            rate = hp.Choice("learning_rate", [0.1, 0.01, 0.001], default=0.01)
            optimizer = keras.optimizers.get(name)
            optimizer.learning_rate = rate
        return self._finish(keras, inputs, backbone.output, optimizer, f"ResNet{depth}{version}")


class HyperXception(_ImageClassifier):
    """Xception-style image classifiers whose width and depth are tuned.

    The network: a strided convolution, ``num_residual_blocks`` residual blocks of two
    separable convolutions each (``sep_num_filters`` wide), a last block twice as wide that
    halves the resolution, pooling, ``num_dense_layers`` dense layers with dropout, and the
    softmax classifier. ReLU layers are batch-normalised; SELU layers are self-normalising
    (LeCun initialisation, alpha dropout). The arguments are :class:`HyperResNet`'s.

    Hyperparameters (KerasTuner's names and ranges):

    ==================== ======================= =========
    name                 values                  default
    ==================== ======================= =========
    activation           ``"relu"``, ``"selu"``  relu
    conv2d_num_filters   32, 64, 128             64
    kernel_size          3, 5                    3
    initial_strides      2 (fixed)               2
    sep_num_filters      128 .. 768, step 128    256
    num_residual_blocks  2 .. 8                  4
    pooling              avg, flatten, max       avg
    num_dense_layers     1 .. 3                  1
    dropout_rate         0.0 .. 0.6, step 0.1    0.5
    dense_use_bn         True, False             True
    learning_rate        1e-3, 1e-4, 1e-5        1e-3
    ==================== ======================= =========

    >>> HyperXception(input_shape=(32, 32, 3), classes=2).include_top
    True
    """

    def build(self, hp: HyperParameters) -> Any:
        keras = _keras()
        activation = hp.Choice("activation", ["relu", "selu"], default="relu")
        conv_filters = hp.Choice("conv2d_num_filters", [32, 64, 128], default=64)
        kernel = hp.Choice("kernel_size", [3, 5], default=3)
        strides = hp.Fixed("initial_strides", 2)
        filters = hp.Int("sep_num_filters", 128, 768, step=128, default=256)
        blocks = hp.Int("num_residual_blocks", 2, 8, default=4)
        pooling = hp.Choice("pooling", ["avg", "flatten", "max"], default="avg")

        inputs, x = self._inputs(keras)
        x = _conv_unit(keras, x, conv_filters, kernel, activation, strides=strides)
        for _ in range(blocks):
            x = _residual_block(keras, x, filters, kernel, activation, downsample=False)
        x = _residual_block(keras, x, 2 * filters, kernel, activation, downsample=True)
        pool = {
            "avg": keras.layers.GlobalAveragePooling2D,
            "max": keras.layers.GlobalMaxPooling2D,
            "flatten": keras.layers.Flatten,
        }[pooling]
        x = pool()(x)
        optimizer = None
        if self.include_top:
            layers = hp.Int("num_dense_layers", 1, 3, default=1)
            rate = hp.Float("dropout_rate", 0.0, 0.6, step=0.1, default=0.5)
            use_bn = hp.Boolean("dense_use_bn", default=True)
            for _ in range(layers):
                x = _dense_unit(keras, x, activation, dropout=rate, batchnorm=use_bn)
            learning_rate = hp.Choice("learning_rate", [1e-3, 1e-4, 1e-5], default=1e-3)
            optimizer = keras.optimizers.Adam(learning_rate)
        return self._finish(keras, inputs, x, optimizer, "Xception")


def _conv_unit(
    keras: Any, x: Any, filters: int, kernel: int, activation: str, *, strides: int = 1
) -> Any:
    """A convolution (separable when ``strides`` is 1) followed by its activation."""
    initialisers: tuple[str, ...]
    if strides != 1:
        layer, initialisers = keras.layers.Conv2D, ("kernel_initializer",)
    else:
        layer, initialisers = (
            keras.layers.SeparableConv2D,
            ("depthwise_initializer", "pointwise_initializer"),
        )
    if activation == "selu":
        lecun = dict.fromkeys(initialisers, "lecun_normal")
        selu = layer(filters, kernel, strides=strides, padding="same", activation="selu", **lecun)
        return selu(x)
    x = layer(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = keras.layers.BatchNormalization()(x)
    return keras.layers.Activation(activation)(x)


def _residual_block(
    keras: Any, x: Any, filters: int, kernel: int, activation: str, *, downsample: bool
) -> Any:
    """Two separable convolutions added to a shortcut; ``downsample`` halves the resolution."""
    shortcut = x
    if downsample:
        shortcut = keras.layers.Conv2D(filters, 1, strides=2, padding="same")(x)
    elif x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, padding="same")(x)
    for _ in range(2):
        x = _conv_unit(keras, x, filters, kernel, activation)
    if downsample:
        x = keras.layers.MaxPooling2D(kernel, strides=2, padding="same")(x)
    return keras.layers.Add()([x, shortcut])


def _dense_unit(keras: Any, x: Any, activation: str, *, dropout: float, batchnorm: bool) -> Any:
    """A hidden dense layer of 128 units with its normalisation and dropout."""
    if activation == "selu":
        x = keras.layers.Dense(128, activation="selu", kernel_initializer="lecun_normal")(x)
        return keras.layers.AlphaDropout(dropout)(x) if dropout > 0 else x
    x = keras.layers.Dense(128, activation=activation)(x)
    if batchnorm:
        x = keras.layers.BatchNormalization()(x)
    return keras.layers.Dropout(dropout)(x) if dropout > 0 else x
