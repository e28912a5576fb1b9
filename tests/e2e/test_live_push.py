"""A status change reaches a staff page's socket on the real server, sent uncompressed.

The server runs without permessage-deflate (devstack's uvicorn argv, and the Docker image):
pushes are a few hundred bytes and compressing a copy per socket cost more than it saved
(docs/benchmarks/push.md).
"""

from __future__ import annotations

import json

import httpx
from websockets.sync.client import connect

from tests.e2e.app import App

ADDRESS = {"full_name": "Ana", "line1": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013", "country": "ES"}


def bearer(http: httpx.Client, email: str, password: str) -> dict[str, str]:
    response = http.post("/api/auth/token/", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access']}"}


def test_a_status_change_reaches_a_staff_socket_uncompressed(app: App) -> None:
    with httpx.Client(base_url=app.base_url, timeout=15, trust_env=False) as http:
        staff = bearer(http, app.admin_email, app.password)
        shopper = bearer(http, app.shopper_email, app.password)
        ticket = http.post("/api/auth/ws-ticket/", headers=staff).json()["ticket"]
        with connect(f"{app.ws_url}/ws/staff/orders/?ticket={ticket}", origin=app.base_url,
                     compression="deflate", proxy=None, open_timeout=15) as socket:  # fmt: skip
            assert "permessage-deflate" not in socket.response.headers.get("Sec-WebSocket-Extensions", "")
            socket.send(json.dumps({"type": "resync", "since": 0}))
            assert json.loads(socket.recv(timeout=15))["type"] == "orders.resync"

            product = http.get("/api/products/", params={"in_stock": 1, "page_size": 1}).json()["results"][0]
            placed = http.post("/api/orders/", headers=shopper, json={
                "lines": [{"product_id": product["id"], "quantity": 1}], "address": ADDRESS,
            })  # fmt: skip
            assert placed.status_code == 201, placed.text
            order_id = str(placed.json()["id"])
            changed = http.post(f"/api/orders/{order_id}/status/", headers=staff, json={"status": "paid"})
            assert changed.status_code == 200, changed.text

            pushes = []
            while not any(push["order"]["seq"] == 2 for push in pushes):
                message = json.loads(socket.recv(timeout=10))
                if message["type"] == "order.changed" and message["order"]["order_id"] == order_id:
                    pushes.append(message)
    assert [(push["order"]["seq"], push["order"]["status"]) for push in pushes] == [(1, "pending"), (2, "paid")]
    assert pushes[-1]["order"]["event"]["from"] == "pending"
    assert pushes[-1]["order"]["status_label"] == "Paid"
