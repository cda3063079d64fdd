"""A Keras script, unchanged but for its imports: an MLP on scikit-learn's digits.

Run it against a horn server (`horn up` in another terminal, or `make demo`):

    python examples/digits_mlp.py
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from horn import keras  # was: import keras
from horn.keras import layers  # was: from keras import layers


def main() -> None:
    """Train, evaluate and predict, printing what Keras would print."""
    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")  # 1,797 images of 8x8 pixels
    y = digits.target.astype("int64")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)

    model = keras.Sequential()
    model.add(keras.Input((64,)))
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9,
                                                 nesterov=True),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=5, batch_size=32, validation_split=0.1)
    print(history.history)
    loss, acc = model.evaluate(x_test, y_test)
    probs = model.predict(x_test)
    print(f"test loss {loss:.4f}, test accuracy {acc:.4f}")
    print(f"predictions: shape {probs.shape}, first five classes "
          f"{np.argmax(probs[:5], axis=1).tolist()} (true: {y_test[:5].tolist()})")


if __name__ == "__main__":
    main()
