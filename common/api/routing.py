"""Several one-action API classes on one URL, chosen by HTTP method.

An app's api_urls.py names the action class of each method where it routes the URL::

    path("products/", method_router("ProductCollectionApi", get=ProductListApi, post=ProductCreateApi))

Why a router rather than one class with get and post: the URL contract puts list and create
(and read, update, delete) on one path, while each action keeps its own serializers and
permissions (public reads, staff writes). The action classes stay complete views; the router
only dispatches, and carries their handlers so OpenAPI generation sees every method with its
own annotations and permissions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponseBase
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView


class MethodRouterApi(APIView):
    """Dispatches each method in ``routes`` to its action class's view.

    OPTIONS, and methods no action serves (405), go through this class's own authentication and
    permissions; method_router gives it those of the GET action.
    """

    routes: ClassVar[dict[str, type[APIView]]] = {}
    _views: ClassVar[dict[str, Callable[..., HttpResponseBase]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._views = {method: action.as_view() for method, action in cls.routes.items()}
        for method, action in cls.routes.items():
            setattr(cls, method, getattr(action, method))

    def _route(self, method: str) -> str | None:
        method = method.lower()
        if method == "head" and "head" not in self.routes:
            method = "get"
        return method if method in self.routes else None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        method = self._route(request.method or "")
        if method is None:  # OPTIONS, or a method no action serves (405)
            return super().dispatch(request, *args, **kwargs)
        return self._views[method](request, *args, **kwargs)

    def get_permissions(self) -> list[BasePermission]:
        method = self._route(self.request.method or "") if getattr(self, "request", None) else None
        if method is None:
            return super().get_permissions()
        return [permission() for permission in self.routes[method].permission_classes]


def method_router(class_name: str, *, description: str = "", **actions: type[APIView]) -> Callable[..., Any]:
    """A view serving each HTTP method named in ``actions`` (get=..., post=...) with that action class.

    ``class_name`` and ``description`` name the router class; DRF shows them in OPTIONS answers.
    Whoever may read the resource (its GET action's authentication and permissions) may ask it
    OPTIONS or be told 405 with the methods it allows; anyone else gets that action's 401 or 403.
    """
    if not actions:
        raise ValueError("method_router needs at least one action, like get=SomeListApi.")
    for method, action in actions.items():
        if method not in APIView.http_method_names or not hasattr(action, method):
            raise ValueError(f"{action.__name__} does not serve {method.upper()}.")
    attributes: dict[str, Any] = {"routes": actions, "__doc__": description}
    reader = actions.get("get")
    if reader is not None:
        attributes["authentication_classes"] = reader.authentication_classes
        attributes["permission_classes"] = reader.permission_classes
    return type(class_name, (MethodRouterApi,), attributes).as_view()
