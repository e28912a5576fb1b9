"""One URL, several action classes (common/api/routing.py): dispatch, 405s, OPTIONS and OpenAPI."""

from __future__ import annotations

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from common.api.routing import method_router


class Staff:
    """Just enough of a user for DRF's permission classes (no database)."""

    is_authenticated = True
    is_active = True
    is_staff = True
    pk = 1


class ThingListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="things_list", summary="List things", responses={200: None})
    def get(self, request: Request) -> Response:
        return Response({"action": "list"})


class ThingCreateApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(operation_id="things_create", summary="Create a thing", request=None, responses={201: None})
    def post(self, request: Request) -> Response:
        return Response({"action": "create"}, status=201)


view = method_router("ThingCollectionApi", description="/things/", get=ThingListApi, post=ThingCreateApi)


def call(method: str, *, user: object | None = None) -> Response:
    request = getattr(APIRequestFactory(), method)("/things/")
    if user is not None:
        force_authenticate(request, user=user)
    response = view(request)
    response.render()
    return response


def test_each_method_goes_to_its_action_with_its_permissions() -> None:
    staff = Staff()
    assert (call("get", user=staff).status_code, call("get", user=staff).data) == (200, {"action": "list"})
    assert call("head", user=staff).status_code == 200  # served by the GET action
    assert (call("post", user=staff).status_code, call("post", user=staff).data) == (201, {"action": "create"})
    shopper = Staff()
    shopper.is_staff = False
    assert call("get", user=shopper).status_code == 200
    assert call("post", user=shopper).status_code == 403  # the create action's own permission


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_methods_no_action_serves_answer_405_with_the_allowed_ones(method: str) -> None:
    response = call(method, user=Staff())
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    assert response.data["detail"].code == "method_not_allowed"


def test_who_may_not_read_is_refused_before_being_told_the_methods() -> None:
    # OPTIONS and 405s are checked like the GET action: an anonymous caller learns nothing more.
    for method in ("options", "put"):
        response = call(method)  # no credentials
        assert response.status_code in (401, 403), method
        assert response.data["detail"].code == "not_authenticated"


def test_options_names_the_router() -> None:
    response = call("options", user=Staff())
    assert response.status_code == 200
    assert (response.data["name"], response.data["description"]) == ("Thing Collection Api", "/things/")


def test_openapi_sees_each_action_with_its_own_annotations() -> None:
    schema = SchemaGenerator(patterns=[path("things/", view)]).get_schema(request=None, public=True)
    operations = schema["paths"]["/things/"]
    assert set(operations) == {"get", "post"}
    assert (operations["get"]["operationId"], operations["post"]["operationId"]) == ("things_list", "things_create")
    assert operations["post"]["summary"] == "Create a thing"


def test_routes_must_name_methods_their_actions_serve() -> None:
    with pytest.raises(ValueError, match="ThingListApi does not serve POST"):
        method_router("Broken", post=ThingListApi)
    with pytest.raises(ValueError, match="does not serve FETCH"):
        method_router("Broken", fetch=ThingListApi)
    with pytest.raises(ValueError, match="at least one action"):
        method_router("Broken")
