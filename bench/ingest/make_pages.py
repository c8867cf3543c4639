"""Writes the ingest benchmark's data: N records of 8 mixed-type fields as JSON pages linked by
next-page URLs, and the same rows as one CSV file.

usage: make_pages.py DIR RECORDS PAGES PORT
"""
import csv
import json
import os
import random
import sys


def main():
    out, records, pages, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    per_page = records // pages
    rnd = random.Random(7)
    categories = ["kitchen", "garden", "office", "toys", "books", "sport"]
    with open(os.path.join(out, "all.csv"), "w", newline="") as all_csv:
        writer = csv.writer(all_csv)
        for p in range(1, pages + 1):
            rows = []
            for i in range((p - 1) * per_page + 1, p * per_page + 1):
                rows.append({
                    "id": i,
                    "name": "customer %d" % rnd.randrange(10**6),
                    "price": round(rnd.uniform(1, 500), 2),
                    "quantity": rnd.randint(1, 20),
                    "active": rnd.random() < 0.9,
                    "created_at": "2026-%02d-%02dT%02d:%02d:%02dZ" % (
                        rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 23),
                        rnd.randint(0, 59), rnd.randint(0, 59)),
                    "category": rnd.choice(categories),
                    "score": rnd.random(),
                })
            nxt = "http://127.0.0.1:%d/p%d.json" % (port, p + 1) if p < pages else None
            with open(os.path.join(out, "p%d.json" % p), "w") as f:
                json.dump({"data": rows, "next": nxt}, f)
            for r in rows:
                writer.writerow([r["id"], r["name"], r["price"], r["quantity"], r["active"],
                                 r["created_at"], r["category"], repr(r["score"])])


if __name__ == "__main__":
    main()
