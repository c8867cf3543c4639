"""The demo shop's data, generated the same way on every run (random.Random(42)).

200 customers, 40 products, 600 orders. Dirty on purpose, so that checks fail visibly:
- 4 pairs of customers share an email address (8 rows involved in duplicates);
- 7 orders have no customer ({"customer": {"id": null}}).
"""
import random
from datetime import datetime, timedelta, timezone

COUNTRIES = ["FR", "DE", "ES", "IT", "NL", "PT"]
FIRST = ["Ana", "Ben", "Chloe", "Dan", "Eva", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kim", "Leo"]
LAST = ["Martin", "Muller", "Garcia", "Rossi", "de Vries", "Silva", "Dubois", "Weber"]
CATEGORIES = ["kitchen", "garden", "office", "toys"]
STATUSES = ["paid", "paid", "paid", "shipped", "shipped", "refunded"]
DUPLICATE_EMAIL_PAIRS = 4
ORDERS_WITHOUT_CUSTOMER = 7


def _iso(ts):
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate():
    rnd = random.Random(42)
    epoch = datetime(2025, 6, 1, tzinfo=timezone.utc)

    customers = []
    for i in range(1, 201):
        name = "%s %s" % (rnd.choice(FIRST), rnd.choice(LAST))
        customers.append({
            "id": i,
            "name": name,
            "email": "%s.%d@example.com" % (name.lower().replace(" ", "."), i),
            "country": rnd.choice(COUNTRIES),
            "signed_up_at": _iso(epoch + timedelta(seconds=rnd.randrange(200 * 86400))),
        })
    # Customers 2, 4, 6, 8 reuse the email of customers 1, 3, 5, 7.
    for k in range(DUPLICATE_EMAIL_PAIRS):
        customers[2 * k + 1]["email"] = customers[2 * k]["email"]

    products = []
    for i in range(1, 41):
        products.append({
            "sku": "SKU-%04d" % i,
            "name": "%s item %d" % (rnd.choice(CATEGORIES).title(), i),
            "category": rnd.choice(CATEGORIES),
            "price": round(rnd.uniform(2, 120), 2),
            "active": rnd.random() > 0.1,
        })

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    no_customer = set(rnd.sample(range(1, 601), ORDERS_WITHOUT_CUSTOMER))
    orders = []
    for i in range(1, 601):
        orders.append({
            "id": i,
            "customer": {"id": None if i in no_customer else rnd.randint(1, 200)},
            "sku": rnd.choice(products)["sku"],
            "quantity": rnd.randint(1, 5),
            "ordered_at": _iso(start + timedelta(seconds=rnd.randrange(181 * 86400))),
            "status": rnd.choice(STATUSES),
        })
    return {"customers": customers, "products": products, "orders": orders}
