"""A small convnet classifying 28x28 grayscale digit images (MNIST-sized).

The images are scikit-learn's 8x8 digits, scaled up to MNIST's 28x28; the model is the
one of Keras's "Simple MNIST convnet" example.
"""

import json

import keras
import numpy as np
from keras import layers
from sklearn.datasets import load_digits

keras.utils.set_random_seed(1337)

num_classes = 10
input_shape = (28, 28, 1)

digits = load_digits()
# 8x8 -> 24x24 (each pixel becomes a 3x3 block) -> 28x28 with a 2-pixel border.
images = np.kron(digits.images / 16.0, np.ones((1, 3, 3)))
images = np.pad(images, ((0, 0), (2, 2), (2, 2)))
x = np.expand_dims(images, -1).astype("float32")
y = digits.target

order = np.random.default_rng(0).permutation(len(x))
x, y = x[order], y[order]
x_train, x_test = x[:1500], x[1500:]
y_train, y_test = y[:1500], y[1500:]
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")

y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()

batch_size = 64
epochs = 5

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                    validation_split=0.1)

score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])

predictions = model.predict(x_test[:10])
print("Predicted:", predictions.argmax(axis=1), "true:", y_test[:10].argmax(axis=1))

print("RESULT", json.dumps({
    "history": history.history,
    "epoch": history.epoch,
    "params": history.params,
    "test_loss": score[0],
    "test_accuracy": score[1],
    "predict_shape": list(predictions.shape),
}))
