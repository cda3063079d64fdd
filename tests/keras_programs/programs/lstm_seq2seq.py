"""Sequence to sequence with LSTMs: learn to reverse a sequence of digits.

An encoder LSTM reads the sequence into one vector, RepeatVector feeds that vector to
a decoder LSTM at every output step, and a Dense softmax reads out one digit per step,
as in Keras's "sequence to sequence learning for performing number addition" example.
"""

import json

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(7)

sequence_length = 5
vocabulary = 10  # the digits 0-9
hidden_size = 64

rng = np.random.default_rng(7)
sequences = rng.integers(0, vocabulary, size=(2400, sequence_length))
targets = sequences[:, ::-1]

x = keras.utils.to_categorical(sequences, vocabulary).astype("float32")
y = keras.utils.to_categorical(targets, vocabulary).astype("float32")
x_train, x_val = x[:2100], x[2100:]
y_train, y_val = y[:2100], y[2100:]
print("Training data:", x_train.shape, y_train.shape)

model = keras.Sequential()
model.add(keras.Input(shape=(sequence_length, vocabulary)))
model.add(layers.LSTM(hidden_size))
model.add(layers.RepeatVector(sequence_length))
model.add(layers.LSTM(hidden_size, return_sequences=True))
model.add(layers.Dense(vocabulary, activation="softmax"))
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model.summary()

history = model.fit(x_train, y_train, batch_size=32, epochs=8,
                    validation_data=(x_val, y_val))

predictions = model.predict(x_val[:5], verbose=0)
for question, answer, guess in zip(sequences[2100:2105], targets[2100:2105],
                                   predictions.argmax(axis=-1), strict=True):
    mark = "ok" if (answer == guess).all() else "--"
    print("Q", "".join(map(str, question)), "T", "".join(map(str, answer)),
          mark, "".join(map(str, guess)))

val_loss, val_accuracy = model.evaluate(x_val, y_val, verbose=0)
exact = float((model.predict(x_val, verbose=0).argmax(-1) == targets[2100:]).all(-1).mean())
print(f"Per-digit accuracy {val_accuracy:.3f}, whole sequences right {exact:.3f}")

print("RESULT", json.dumps({
    "history": history.history,
    "epoch": history.epoch,
    "val_loss": val_loss,
    "val_accuracy": val_accuracy,
    "sequence_accuracy": exact,
    "predict_shape": list(predictions.shape),
}))
