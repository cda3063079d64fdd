"""One error table (`horn.schemas.errors`): the server's exception of each code is
answered with the table's status, and the SDK raises the class of the same name."""

from __future__ import annotations

import pytest

from horn import errors as sdk
from horn.schemas.errors import ERROR_CODE_TO_HTTP_STATUS, ErrorCode, code_for_status
from horn.server.core import exceptions as server


def _server_classes() -> list[type[server.APIError]]:
    import horn.server.main  # noqa: F401 - every route module, with its own exceptions

    return [server.APIError, *server.APIError.__subclasses__()]


@pytest.mark.parametrize("cls", _server_classes(), ids=lambda c: c.__name__)
def test_each_server_exception_has_the_status_of_its_code(cls: type[server.APIError]) -> None:
    assert cls.status_code == ERROR_CODE_TO_HTTP_STATUS[cls.code]


#: Server exceptions whose SDK class has another name (a gateway timeout is, for the
#: SDK, the service being unavailable, as a proxy's 504 is).
_SDK_CLASS = {"APIError": sdk.InvalidArgument, "GatewayTimeout": sdk.ServiceUnavailable}


@pytest.mark.parametrize("cls", _server_classes(), ids=lambda c: c.__name__)
def test_the_sdk_rebuilds_the_server_exception(cls: type[server.APIError]) -> None:
    body = {"error": {"code": str(cls.code), "message": "m", "details": {"k": 1}}}
    raised = sdk.api_error_for(cls.status_code, body)
    assert type(raised) is _SDK_CLASS.get(cls.__name__, getattr(sdk, cls.__name__, None))
    assert (raised.code, raised.status_code, raised.details) == (cls.code, cls.status_code,
                                                                 {"k": 1})


@pytest.mark.parametrize(("status", "expected"), [
    (400, sdk.InvalidArgument), (422, sdk.InvalidArgument), (404, sdk.NotFound),
    (500, sdk.ServerError), (502, sdk.ServiceUnavailable), (503, sdk.ServiceUnavailable),
    (504, sdk.ServiceUnavailable), (405, sdk.APIError)])
def test_a_bare_status_without_the_envelope(status: int, expected: type) -> None:
    raised = sdk.api_error_for(status, "<html>proxy error</html>")
    assert type(raised) is expected


def test_every_code_with_a_status_maps_back_to_itself() -> None:
    for code, status in ERROR_CODE_TO_HTTP_STATUS.items():
        assert code_for_status(status) == code
    assert code_for_status(418) is ErrorCode.ERROR
