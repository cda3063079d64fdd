"""`keras.utils` helpers on the client give what Keras's give."""

from __future__ import annotations

import numpy as np
import pytest

from horn.keras import utils

keras = pytest.importorskip("keras")


@pytest.mark.parametrize("kwargs", [
    {}, {"maxlen": 3}, {"maxlen": 3, "padding": "post"}, {"maxlen": 2, "truncating": "post"},
    {"maxlen": 5, "value": -1, "dtype": "float32"}])
def test_pad_sequences_matches_keras(kwargs: dict[str, object]) -> None:
    sequences = [[1, 2, 3, 4], [5], [], [6, 7]]
    np.testing.assert_array_equal(utils.pad_sequences(sequences, **kwargs),
                                  keras.utils.pad_sequences(sequences, **kwargs))


def test_normalize_and_to_categorical_match_keras() -> None:
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(utils.normalize(x), keras.utils.normalize(x), rtol=1e-6)
    labels = np.array([0, 2, 1, 2])
    np.testing.assert_array_equal(utils.to_categorical(labels, 3),
                                  keras.utils.to_categorical(labels, 3))


def test_set_random_seed_checks_its_argument() -> None:
    with pytest.raises(ValueError, match="integer"):
        utils.set_random_seed("42")  # type: ignore[arg-type]
