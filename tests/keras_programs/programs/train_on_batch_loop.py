"""A hand-written training loop with train_on_batch, test_on_batch and predict_on_batch.

Classifies scikit-learn's 8x8 digits with an MLP, feeding the batches one by one and
checking the validation set after each epoch.
"""

import json

import keras
import numpy as np
from keras import layers
from sklearn.datasets import load_digits

keras.utils.set_random_seed(99)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int32")
x_train, y_train = x[:1400], y[:1400]
x_val, y_val = x[1400:], y[1400:]

model = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=3e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)

batch_size = 100
epochs = 3
log = []
for epoch in range(epochs):
    order = np.random.permutation(len(x_train))
    losses = []
    for start in range(0, len(x_train), batch_size):
        batch = order[start:start + batch_size]
        loss, accuracy = model.train_on_batch(x_train[batch], y_train[batch])
        losses.append(float(loss))
    val_loss, val_accuracy = model.test_on_batch(x_val, y_val)
    print(f"epoch {epoch + 1}/{epochs}: loss {np.mean(losses):.4f} "
          f"val_loss {val_loss:.4f} val_accuracy {val_accuracy:.4f}")
    log.append({"loss": float(np.mean(losses)), "last_batch_accuracy": float(accuracy),
                "val_loss": float(val_loss), "val_accuracy": float(val_accuracy)})

last = model.train_on_batch(x_train[:batch_size], y_train[:batch_size], return_dict=True)
probabilities = model.predict_on_batch(x_val)
predicted = probabilities.argmax(axis=1)
print("Predicted:", predicted[:10], "true:", y_val[:10])

print("RESULT", json.dumps({
    "log": log,
    "return_dict_keys": sorted(last),
    "predict_shape": list(probabilities.shape),
    "predict_accuracy": float((predicted == y_val).mean()),
}))
