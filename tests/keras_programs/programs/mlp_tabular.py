"""Imbalanced binary classification of tabular data with an MLP.

Class weights make up for the rare positive class; precision and recall are tracked
next to accuracy, as in Keras's "imbalanced classification" tutorial.
"""

import json

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(42)

# A table of 3,000 customers and 20 numeric features; about one in five defaults.
rng = np.random.default_rng(42)
n_samples, n_features = 3000, 20
features = rng.normal(size=(n_samples, n_features)).astype("float32")
coefficients = rng.normal(size=n_features)
logits = 0.8 * features @ coefficients + 0.6 * features[:, 0] * features[:, 1] - 2.5
targets = (rng.random(n_samples) < 1.0 / (1.0 + np.exp(-logits))).astype("int32")

split = 2400
x_train, x_test = features[:split], features[split:]
y_train, y_test = targets[:split], targets[split:]

mean, std = x_train.mean(axis=0), x_train.std(axis=0)
x_train = (x_train - mean) / std
x_test = (x_test - mean) / std

neg, pos = np.bincount(y_train)
total = neg + pos
print(f"Examples: {total} total, {pos} positive ({100 * pos / total:.1f}%)")
class_weight = {0: (1 / neg) * (total / 2.0), 1: (1 / pos) * (total / 2.0)}

model = keras.Sequential(
    [
        keras.Input(shape=(n_features,)),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(32, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ]
)
model.summary()

model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-3),
    loss="binary_crossentropy",
    metrics=["accuracy", keras.metrics.Precision(), keras.metrics.Recall()],
)

history = model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=8,
    validation_split=0.2,
    class_weight=class_weight,
)

test_scores = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
print("Test:", test_scores)
probabilities = model.predict(x_test, verbose=0)
predicted = (probabilities[:, 0] > 0.5).astype("int32")
print("Predicted positives:", int(predicted.sum()), "of", len(predicted))

print("RESULT", json.dumps({
    "history": history.history,
    "epoch": history.epoch,
    "params": history.params,
    "test": test_scores,
    "predict_shape": list(probabilities.shape),
    "test_accuracy_from_predict": float((predicted == y_test).mean()),
}))
