"""A convolutional autoencoder that learns to denoise 28x28 images.

As in Keras's "Convolutional autoencoder for image denoising" example: first trained to
reconstruct clean images, then trained further (a second `fit` on the same model) to
map noisy images back to clean ones.
"""

import json

import keras
import numpy as np
from keras import layers

keras.utils.set_random_seed(11)
rng = np.random.default_rng(11)


def make_images(n):
    """White squares and discs of random size and place on a black 28x28 canvas."""
    rows, cols = np.mgrid[0:28, 0:28]
    images = np.zeros((n, 28, 28), dtype="float32")
    for image in images:
        for _ in range(rng.integers(1, 3)):
            r, c, size = rng.integers(6, 22), rng.integers(6, 22), rng.integers(3, 7)
            if rng.random() < 0.5:
                image[(abs(rows - r) <= size) & (abs(cols - c) <= size)] = 1.0
            else:
                image[(rows - r) ** 2 + (cols - c) ** 2 <= size**2] = 1.0
    return images[..., np.newaxis]


def noise(array):
    """Adds random noise to each image in the supplied array."""
    noisy_array = array + 0.4 * rng.normal(loc=0.0, scale=1.0, size=array.shape)
    return np.clip(noisy_array, 0.0, 1.0).astype("float32")


train_data = make_images(800)
test_data = make_images(200)
noisy_train_data = noise(train_data)
noisy_test_data = noise(test_data)

input = layers.Input(shape=(28, 28, 1))

# Encoder
x = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(input)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(16, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)

# Decoder
x = layers.Conv2DTranspose(16, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(16, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

# Autoencoder
autoencoder = keras.Model(input, x)
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
autoencoder.summary()

first = autoencoder.fit(
    x=train_data,
    y=train_data,
    epochs=3,
    batch_size=32,
    shuffle=True,
    validation_data=(test_data, test_data),
)

second = autoencoder.fit(
    x=noisy_train_data,
    y=train_data,
    epochs=2,
    batch_size=32,
    shuffle=True,
    validation_data=(noisy_test_data, test_data),
)

denoised = autoencoder.predict(noisy_test_data)
clean_loss = autoencoder.evaluate(test_data, test_data, verbose=0)
noisy_loss = autoencoder.evaluate(noisy_test_data, test_data, verbose=0)
print("Reconstruction loss, clean input:", clean_loss, "noisy input:", noisy_loss)
error_before = float(np.mean((noisy_test_data - test_data) ** 2))
error_after = float(np.mean((denoised - test_data) ** 2))
print(f"Mean squared error: noisy {error_before:.4f}, denoised {error_after:.4f}")

print("RESULT", json.dumps({
    "history": first.history,
    "epoch": first.epoch,
    "second_history": second.history,
    "second_epoch": second.epoch,
    "clean_loss": clean_loss,
    "noisy_loss": noisy_loss,
    "mse_noisy": error_before,
    "mse_denoised": error_after,
    "predict_shape": list(denoised.shape),
}))
