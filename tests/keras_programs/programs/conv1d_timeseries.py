"""Time-series classification with a fully convolutional network.

Follows Keras's "Timeseries classification from scratch" example: Conv1D blocks with
BatchNormalization, global average pooling, and the callbacks that keep the best model
(ModelCheckpoint), lower the learning rate on a plateau and stop early. The best model
is then loaded back from its file and evaluated.
"""

import json

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(3)

# 1,000 sensor recordings of 128 steps: engines with a fault hum at a higher pitch.
rng = np.random.default_rng(3)
n_series, length = 1000, 128
labels = rng.integers(0, 2, size=n_series)
t = np.linspace(0.0, 1.0, length)
frequency = np.where(labels == 1, rng.uniform(6.0, 9.0, n_series), rng.uniform(2.0, 5.0, n_series))
phase = rng.uniform(0, 2 * np.pi, n_series)
signal = np.sin(2 * np.pi * frequency[:, None] * t[None, :] + phase[:, None])
series = signal + rng.normal(scale=0.8, size=(n_series, length))
x = series.reshape((n_series, length, 1)).astype("float32")

x_train, x_test = x[:800], x[800:]
y_train, y_test = labels[:800], labels[800:]
num_classes = len(np.unique(y_train))


def make_model(input_shape):
    input_layer = keras.layers.Input(input_shape)

    conv1 = keras.layers.Conv1D(filters=32, kernel_size=3, padding="same")(input_layer)
    conv1 = keras.layers.BatchNormalization()(conv1)
    conv1 = keras.layers.ReLU()(conv1)

    conv2 = keras.layers.Conv1D(filters=32, kernel_size=3, padding="same")(conv1)
    conv2 = keras.layers.BatchNormalization()(conv2)
    conv2 = keras.layers.ReLU()(conv2)

    conv3 = keras.layers.Conv1D(filters=32, kernel_size=3, padding="same")(conv2)
    conv3 = keras.layers.BatchNormalization()(conv3)
    conv3 = keras.layers.ReLU()(conv3)

    gap = layers.GlobalAveragePooling1D()(conv3)

    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

    return keras.models.Model(inputs=input_layer, outputs=output_layer)


model = make_model(input_shape=x_train.shape[1:])
model.summary()

epochs = 10
batch_size = 16

callbacks = [
    keras.callbacks.ModelCheckpoint("best_model.keras", save_best_only=True, monitor="val_loss"),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=0.0001),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=4, verbose=1),
]
model.compile(
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)
history = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    callbacks=callbacks,
    validation_split=0.2,
    verbose=1,
)

model = keras.models.load_model("best_model.keras")

test_loss, test_acc = model.evaluate(x_test, y_test)

print("Test accuracy", test_acc)
print("Test loss", test_loss)

print("RESULT", json.dumps({
    "history": history.history,
    "epoch": history.epoch,
    "best_val_loss": min(history.history["val_loss"]),
    "test_loss": test_loss,
    "test_accuracy": test_acc,
}))
