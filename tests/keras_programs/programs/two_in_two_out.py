"""A functional model with two inputs and two outputs: routing support tickets.

Like the ticket example of Keras's functional API guide: each ticket has a title (word
indices) and a few numeric features; the model predicts its priority (between 0 and 1)
and the department that should handle it. Inputs and outputs are named, and the data,
the losses, the loss weights and the metrics are given per name.
"""

import json

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)

num_words = 500  # size of the title vocabulary
title_length = 12
num_features = 16
num_departments = 4
num_tickets = 2000

# Each department has its own 40 typical words; titles mix them with common words.
departments = rng.integers(0, num_departments, size=num_tickets)
titles = rng.integers(200, num_words, size=(num_tickets, title_length))
typical = rng.random((num_tickets, title_length)) < 0.35
titles[typical] = (departments[:, None] * 40 + 10 + rng.integers(0, 40, size=titles.shape))[typical]
features = rng.normal(size=(num_tickets, num_features)).astype("float32")
urgency = features @ rng.normal(size=num_features) / 2 + (departments == 0)
priority = (1 / (1 + np.exp(-urgency))).astype("float32")

title_input = keras.Input(shape=(title_length,), name="title")
features_input = keras.Input(shape=(num_features,), name="features")

title_features = layers.Embedding(num_words, 24)(title_input)
title_features = layers.GlobalAveragePooling1D()(title_features)
numeric = layers.Dense(32, activation="relu")(features_input)

x = layers.concatenate([title_features, numeric])
x = layers.Dense(32, activation="relu")(x)

priority_pred = layers.Dense(1, activation="sigmoid", name="priority")(x)
department_pred = layers.Dense(num_departments, activation="softmax", name="department")(x)

model = keras.Model(
    inputs=[title_input, features_input],
    outputs={"priority": priority_pred, "department": department_pred},
)
model.summary()

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss={
        "priority": keras.losses.BinaryCrossentropy(),
        "department": keras.losses.SparseCategoricalCrossentropy(),
    },
    loss_weights={"priority": 1.0, "department": 0.5},
    metrics={"priority": ["mae"], "department": ["accuracy"]},
)

train, test = slice(0, 1600), slice(1600, None)
history = model.fit(
    {"title": titles[train], "features": features[train]},
    {"priority": priority[train], "department": departments[train]},
    epochs=6,
    batch_size=32,
    validation_split=0.2,
)

scores = model.evaluate(
    {"title": titles[test], "features": features[test]},
    {"priority": priority[test], "department": departments[test]},
    return_dict=True,
    verbose=0,
)
print("Test:", scores)
predictions = model.predict({"title": titles[test], "features": features[test]}, verbose=0)
print("Predicted departments:", predictions["department"][:8].argmax(axis=1))

print("RESULT", json.dumps({
    "history": history.history,
    "epoch": history.epoch,
    "test": scores,
    "predict_keys": sorted(predictions),
    "predict_shapes": {name: list(value.shape) for name, value in predictions.items()},
    "department_accuracy_from_predict":
        float((predictions["department"].argmax(axis=1) == departments[test]).mean()),
}))
