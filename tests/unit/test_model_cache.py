"""A worker child's warm models: which job gets which, and what is kept."""

from __future__ import annotations

from dataclasses import dataclass

from horn.worker.model_cache import ModelCache, shape_of, variable_bytes


@dataclass
class _Variable:
    shape: tuple[int, ...]
    dtype: str = "float32"


class _Model:
    """Stands for a Keras model: what the cache reads of one (its variables)."""

    def __init__(self, floats: int) -> None:
        self.variables = [_Variable((floats,))]
        self.optimizer = None


def test_shape_separates_owners_architectures_and_compile_configs() -> None:
    spec = {"class_name": "Sequential", "config": {"layers": [1, 2]}}
    assert shape_of("ann", spec, {"loss": "mse"}) == shape_of("ann", dict(spec), {"loss": "mse"})
    assert shape_of("ann", spec, {"loss": "mse"}) != shape_of("bob", spec, {"loss": "mse"})
    assert shape_of("ann", spec, {"loss": "mse"}) != shape_of("ann", spec, {"loss": "mae"})
    assert shape_of("ann", spec, None) != shape_of("ann", {"config": {}}, None)


def test_variable_bytes_counts_weights_and_a_built_optimizer() -> None:
    model = _Model(10)
    assert variable_bytes(model) == 40

    class _Optimizer:
        built = True
        variables = [_Variable((3, 2), "float64")]

    model.optimizer = _Optimizer()  # type: ignore[assignment]
    assert variable_bytes(model) == 40 + 48


def test_a_job_takes_its_own_model_then_gives_it_back() -> None:
    cache = ModelCache(max_models=4, max_bytes=10**9)
    model = _Model(4)
    cache.keep(("m1", "c1"), "s", model, 3)
    warm = cache.take(("m1", "c1"))
    assert warm is not None and warm.model is model and warm.weights_version == 3
    assert cache.take(("m1", "c1")) is None  # the job owns it now
    assert cache.take(("m1", "other compile")) is None


def test_a_model_without_stored_weights_is_not_kept() -> None:
    cache = ModelCache(max_models=4, max_bytes=10**9)
    cache.keep(("m1", None), "s", _Model(4), None)
    assert len(cache) == 0


def test_another_model_of_the_same_shape_takes_the_least_recently_used() -> None:
    cache = ModelCache(max_models=4, max_bytes=10**9)
    older, newer, other = _Model(1), _Model(1), _Model(1)
    cache.keep(("a", None), "shape", older, 1)
    cache.keep(("b", None), "shape", newer, 1)
    cache.keep(("c", None), "another", other, 1)
    assert cache.take_shape("missing") is None
    taken = cache.take_shape("shape")
    assert taken is not None and taken.model is older
    taken = cache.take_shape("shape")
    assert taken is not None and taken.model is newer
    assert cache.take_shape("shape") is None
    assert len(cache) == 1


def test_least_recently_used_models_go_first_past_the_count() -> None:
    cache = ModelCache(max_models=2, max_bytes=10**9)
    for name in "abc":
        cache.keep((name, None), name, _Model(1), 1)
    assert cache.take(("a", None)) is None
    assert cache.take(("b", None)) is not None
    assert cache.take(("c", None)) is not None


def test_least_recently_used_models_go_first_past_the_bytes_but_the_last_stays() -> None:
    cache = ModelCache(max_models=8, max_bytes=1000)
    cache.keep(("small", None), "s", _Model(100), 1)  # 400 bytes
    cache.keep(("medium", None), "m", _Model(125), 1)  # 500 bytes: 900 in all
    assert len(cache) == 2
    cache.keep(("large", None), "l", _Model(1000), 1)  # 4,000 bytes: over on its own
    assert len(cache) == 1 and cache.take(("large", None)) is not None


def test_using_a_model_makes_it_the_most_recent() -> None:
    cache = ModelCache(max_models=2, max_bytes=10**9)
    first = _Model(1)
    cache.keep(("a", None), "a", first, 1)
    cache.keep(("b", None), "b", _Model(1), 1)
    warm = cache.take(("a", None))
    assert warm is not None
    cache.keep(("a", None), "a", warm.model, 2)  # a job on `a` gave it back
    cache.keep(("c", None), "c", _Model(1), 1)
    assert cache.take(("b", None)) is None  # `b` was the least recently used
    kept = cache.take(("a", None))
    assert kept is not None and kept.model is first and kept.weights_version == 2
