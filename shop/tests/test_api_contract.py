"""The public read APIs return selector answers without re-serializing them (shop/api.py,
_READ_PATH_NOTE). That is only safe while the documented serializers change nothing."""

from __future__ import annotations

import json
from types import SimpleNamespace

from rest_framework.renderers import JSONRenderer

from shop.api import CategoryListApi, ProductDetailApi, ProductListApi
from shop.selectors import ProductQuery, category_tree, product_detail_by_id, product_list


def as_json(data: object) -> object:
    return json.loads(JSONRenderer().render(data))


def test_serializers_leave_selector_answers_unchanged(catalog: SimpleNamespace) -> None:
    listing = {**product_list(ProductQuery(page_size=2)), "next": "http://testserver/x", "previous": None}
    detail = product_detail_by_id(str(catalog.linen.pk))
    tree = category_tree()
    assert as_json(ProductListApi.OutputSerializer(listing).data) == as_json(listing)
    assert as_json(ProductDetailApi.OutputSerializer(detail).data) == as_json(detail)
    assert as_json(CategoryListApi.OutputSerializer(tree, many=True).data) == as_json(tree)
    assert set(ProductDetailApi.OutputSerializer().fields) == set(detail)
    assert set(ProductListApi.OutputSerializer().fields["results"].child.fields) == set(listing["results"][0])


def test_api_docs_page_uses_no_cdn(client) -> None:
    html = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr.net" not in html
    assert "/static/drf_spectacular_sidecar/" in html
