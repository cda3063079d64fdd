"""Sentiment classification of reviews with an Embedding and a bidirectional LSTM.

The reviews are lists of word indices of varying length (as `imdb.load_data` gives
them), padded with `pad_sequences`, as in Keras's "Bidirectional LSTM on IMDB" example.
"""

import json

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(2024)

max_features = 2000  # only the 2,000 most frequent words
maxlen = 50  # the first 50 words of each review
positive_words = np.arange(10, 60)
negative_words = np.arange(60, 110)


def make_review(label):
    """A review: mostly neutral words, with a few words that carry its sentiment."""
    length = np.random.randint(20, 90)
    words = np.random.randint(110, max_features, size=length)
    n_cues = np.random.randint(4, 10)
    cues = np.random.choice(positive_words if label else negative_words, n_cues)
    noise = np.random.choice(negative_words if label else positive_words, n_cues // 3)
    positions = np.random.choice(length, n_cues + len(noise), replace=False)
    words[positions] = np.concatenate([cues, noise])
    return [1, *words.tolist()]  # 1 marks the start of a review


labels = np.random.randint(0, 2, size=2500)
reviews = [make_review(label) for label in labels]
print(len(reviews), "reviews; average length", np.mean([len(r) for r in reviews]))

x = keras.utils.pad_sequences(reviews, maxlen=maxlen)
x_train, x_val = x[:2000], x[2000:]
y_train, y_val = labels[:2000], labels[2000:]
print("x_train shape:", x_train.shape)

inputs = keras.Input(shape=(None,), dtype="int32")
embedded = layers.Embedding(max_features, 32)(inputs)
encoded = layers.Bidirectional(layers.LSTM(32))(embedded)
encoded = layers.Dropout(0.2)(encoded)
outputs = layers.Dense(1, activation="sigmoid")(encoded)
model = keras.Model(inputs, outputs)
model.summary()

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=64, epochs=3,
                    validation_data=(x_val, y_val))

loss, accuracy = model.evaluate(x_val, y_val, verbose=0)
scores = model.predict(x_val, verbose=0)
print(f"Validation accuracy: {accuracy:.3f}")

print("RESULT", json.dumps({
    "history": history.history,
    "epoch": history.epoch,
    "val_loss": loss,
    "val_accuracy": accuracy,
    "predict_shape": list(scores.shape),
}))
