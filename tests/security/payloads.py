"""Hostile Keras configs, one per class of deserialization attack. Each would create
`marker` if Keras ever ran it (or at least names code or a file to load)."""

from __future__ import annotations

import base64
import copy
import marshal
from pathlib import Path
from typing import Any

from tests.security.conftest import dense_spec


def _with_layer(layer: dict[str, Any]) -> dict[str, Any]:
    spec = dense_spec()
    spec["config"]["layers"].insert(1, layer)
    return spec


def lambda_bytecode(marker: Path) -> dict[str, Any]:
    """A `Lambda` whose function is marshalled bytecode that writes `marker`."""
    source = f"lambda x: (open({str(marker)!r}, 'w').write('pwned'), x)[1]"
    code = compile(source, "<payload>", "eval").co_consts[0]
    blob = base64.b64encode(marshal.dumps(code)).decode("ascii")
    return _with_layer({"module": "keras.layers", "class_name": "Lambda",
                        "registered_name": None,
                        "config": {"name": "evil", "function": {
                            "class_name": "__lambda__",
                            "config": {"code": blob, "defaults": None, "closure": None}}}})


def module_import(module: str, name: str, marker: Path) -> dict[str, Any]:
    """An object that names an arbitrary module and callable."""
    return _with_layer({"module": module, "class_name": name, "registered_name": None,
                        "config": {"command": f"touch {marker}"}})


def os_system_function(marker: Path) -> dict[str, Any]:
    spec = dense_spec()
    spec["config"]["layers"][1]["config"]["activation"] = {
        "module": "os", "class_name": "function", "config": "system",
        "registered_name": "function"}
    return spec


def registered_custom(marker: Path) -> dict[str, Any]:
    return _with_layer({"module": "keras.layers", "class_name": "Dense",
                        "registered_name": "evil>Backdoor",
                        "config": {"name": "evil", "units": 2}})


def tfsm_layer(marker: Path) -> dict[str, Any]:
    return _with_layer({"module": "keras.layers", "class_name": "TFSMLayer",
                        "registered_name": None,
                        "config": {"name": "evil", "filepath": str(marker.parent),
                                   "call_endpoint": "serve"}})


def torch_wrapper(marker: Path) -> dict[str, Any]:
    return _with_layer({"module": "keras.layers", "class_name": "TorchModuleWrapper",
                        "registered_name": None,
                        "config": {"name": "evil", "module": "gASV..."}})


def jax_layer(marker: Path) -> dict[str, Any]:
    return _with_layer({"module": "keras.layers", "class_name": "JaxLayer",
                        "registered_name": None, "config": {"name": "evil"}})


def flax_layer(marker: Path) -> dict[str, Any]:
    return _with_layer({"module": "keras.layers", "class_name": "FlaxLayer",
                        "registered_name": None, "config": {"name": "evil"}})


def vocabulary_file(marker: Path) -> dict[str, Any]:
    return _with_layer({"module": "keras.layers", "class_name": "StringLookup",
                        "registered_name": None,
                        "config": {"name": "lookup", "vocabulary": "/etc/passwd"}})


def url_argument(marker: Path) -> dict[str, Any]:
    spec = dense_spec()
    spec["config"]["layers"][1]["config"]["kernel_initializer"] = {
        "module": "keras.initializers", "class_name": "Constant", "registered_name": None,
        "config": {"value": "https://evil.example/weights.npy"}}
    return spec


def functional_op_node(marker: Path) -> dict[str, Any]:
    """A functional model with a `keras.ops` node between layers."""
    tensor = {"class_name": "__keras_tensor__",
              "config": {"shape": [None, 4], "dtype": "float32",
                         "keras_history": ["x", 0, 0]}}
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "registered_name": "Functional", "config": {
                "name": "f", "layers": [
                    {"module": "keras.layers", "class_name": "InputLayer",
                     "registered_name": None, "name": "x",
                     "config": {"batch_shape": [None, 4], "name": "x"}, "inbound_nodes": []},
                    {"module": "keras.src.ops.numpy", "class_name": "Add",
                     "registered_name": "Add", "name": "add", "config": {"name": "add"},
                     "inbound_nodes": [{"args": [tensor, 1.0], "kwargs": {}}]}],
                "input_layers": [["x", 0, 0]], "output_layers": [["add", 0, 0]]}}


def functional_foreign_reference(marker: Path) -> dict[str, Any]:
    """A node argument that is a serialized object, not a layer reference."""
    spec = functional_op_node(marker)
    layer = spec["config"]["layers"][1]
    layer.update({"module": "keras.layers", "class_name": "Dense", "registered_name": None,
                  "config": {"name": "add", "units": 2}})
    layer["inbound_nodes"][0]["args"][1] = {"module": "builtins", "class_name": "eval",
                                            "config": f"open({str(marker)!r}, 'w')"}
    return spec


def functional_unknown_layer(marker: Path) -> dict[str, Any]:
    spec = functional_op_node(marker)
    layer = spec["config"]["layers"][1]
    layer.update({"module": "keras.layers", "class_name": "Dense", "registered_name": None,
                  "config": {"name": "add", "units": 2}})
    layer["inbound_nodes"][0]["args"] = [copy.deepcopy(layer["inbound_nodes"][0]["args"][0])]
    layer["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["ghost", 0, 0]
    return spec


#: name -> (builder, a word the refusal must contain)
SPECS = {
    "lambda_bytecode": (lambda_bytecode, "Lambda"),
    "os_system_class": (lambda m: module_import("os", "system", m), "os.system"),
    "builtins_eval_class": (lambda m: module_import("builtins", "eval", m), "builtins.eval"),
    "subprocess_class": (lambda m: module_import("subprocess", "Popen", m), "subprocess"),
    "os_system_function": (os_system_function, "os.system"),
    "registered_custom_object": (registered_custom, "registered_name"),
    "tfsm_layer": (tfsm_layer, "TFSMLayer"),
    "torch_module_wrapper": (torch_wrapper, "TorchModuleWrapper"),
    "jax_layer": (jax_layer, "JaxLayer"),
    "flax_layer": (flax_layer, "FlaxLayer"),
    "vocabulary_file": (vocabulary_file, "vocabulary"),
    "url_argument": (url_argument, "URL"),
    "functional_op_node": (functional_op_node, "keras.ops"),
    "functional_foreign_reference": (functional_foreign_reference, "layer"),
    "functional_unknown_layer": (functional_unknown_layer, "ghost"),
}
